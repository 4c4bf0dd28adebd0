// Package codegen turns a compiled spec registry into typed feature contracts for
// the SDKs: a Python module (numpy dtypes for Keras inputs), a TypeScript module
// (value types for the console) and a Go package (constants for feature names).
// The specs stay the one definition; these files are derived from them by
// `floe gen` and must never be edited by hand.
//
// Output is deterministic: the same registry always yields byte-identical files,
// so a stale checkout shows up as a diff after `make generate`.
package codegen

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"floe.dev/floe/services/featureserver/internal/registry"
)

// Layout says which languages are generated, where each language's files go
// (relative to the output root) and what their packages are called.
type Layout struct {
	// Langs are the languages to generate: "go", "python", "ts". Empty means all.
	Langs []string
	// PythonDir is the directory of the Python package that holds one module per
	// project plus an __init__.py listing them.
	PythonDir string
	// PythonPackage is that package's dotted import name (used in its docstrings).
	PythonPackage string
	// TSDir is the directory of the TypeScript modules, one per project plus index.ts.
	TSDir string
	// GoDir holds one Go package per project, GoDir/<project>/features.go.
	GoDir string
	// GoPackage is the package clause of every generated Go file; empty means the
	// project's name.
	GoPackage string
	// Project names a single project (a spec directory holding *.yaml files): its
	// Python and TypeScript module and Go package directory. Empty means the
	// directory's name, or its parent's when the directory is called specs (as in a
	// project made by floe init), lower-cased with - and . turned into _.
	Project string
}

// RepoLayout is where this repository keeps the bindings of its example projects:
// inside the SDKs' source trees, so the SDKs ship them.
var RepoLayout = Layout{
	PythonDir:     "sdk/python/src/floe/features",
	PythonPackage: "floe.features",
	TSDir:         "sdk/ts/src/features",
	GoDir:         "sdk/go/features",
}

// Languages are the values Layout.Langs takes.
var Languages = []string{"go", "python", "ts"}

func (l Layout) wants(lang string) bool {
	return len(l.Langs) == 0 || slices.Contains(l.Langs, lang)
}

// Check reports a layout that cannot be generated: an unknown language or a
// package name that is not an identifier of its language.
func (l Layout) Check() error {
	for _, lang := range l.Langs {
		if !slices.Contains(Languages, lang) {
			return fmt.Errorf("codegen: unknown language %q (want %s)", lang, strings.Join(Languages, ", "))
		}
	}
	if l.wants("python") {
		for _, part := range strings.Split(l.PythonPackage, ".") {
			if !pythonIdent.MatchString(part) || keywords[part] {
				return fmt.Errorf("codegen: python package %q is not a dotted Python module name", l.PythonPackage)
			}
		}
	}
	if l.GoPackage != "" && (!projectPattern.MatchString(l.GoPackage) || keywords[l.GoPackage]) {
		return fmt.Errorf("codegen: go package %q must be a lower-case Go identifier", l.GoPackage)
	}
	return nil
}

var pythonIdent = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// projectPattern keeps a project name usable as a Python module, a TypeScript file
// and a Go package name at once.
var projectPattern = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// keywords of Go and Python, which a project name (a Go package and a Python
// module) must avoid.
var keywords = func() map[string]bool {
	m := map[string]bool{}
	for _, k := range strings.Fields(`break case chan const continue default defer else fallthrough for func go goto if import interface map package range return select struct switch type var
		and as assert async await class def del elif except finally from global in is lambda nonlocal not or pass raise try while with yield`) {
		m[k] = true
	}
	return m
}()

// Generate returns the generated files of one project in RepoLayout, keyed by path
// relative to the repository root: the Python module, the TypeScript module and the
// Go package. project names the files and the Go package; it is usually the name of
// the directory the specs were loaded from.
func Generate(reg *registry.Registry, project string) (map[string][]byte, error) {
	return generate(reg, project, RepoLayout)
}

func generate(reg *registry.Registry, project string, l Layout) (map[string][]byte, error) {
	p, err := newProject(reg, project)
	if err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	if l.wants("python") {
		py, err := p.python()
		if err != nil {
			return nil, fmt.Errorf("codegen %s: python: %w", project, err)
		}
		out[path.Join(l.PythonDir, project+".py")] = py
	}
	if l.wants("ts") {
		ts, err := p.typescript()
		if err != nil {
			return nil, fmt.Errorf("codegen %s: typescript: %w", project, err)
		}
		out[path.Join(l.TSDir, project+".ts")] = ts
	}
	if l.wants("go") {
		pkg := l.GoPackage
		if pkg == "" {
			pkg = project
		}
		gosrc, err := p.golang(pkg)
		if err != nil {
			return nil, fmt.Errorf("codegen %s: go: %w", project, err)
		}
		out[path.Join(l.GoDir, project, "features.go")] = gosrc
	}
	return out, nil
}

// GenerateAll generates every project under specRoot in RepoLayout (see GenerateTree).
func GenerateAll(specRoot string) (map[string][]byte, error) {
	return GenerateTree(specRoot, RepoLayout)
}

// GenerateTree generates the bindings of the projects in specs, laid out as l, plus
// index files that list the projects (the Python package's __init__.py and the
// TypeScript index.ts). specs is either one project — a directory holding *.yaml
// spec files, named after the directory — or a directory whose subdirectories are
// projects (for example specs/examples, holding pricing and fraud); subdirectories
// without *.yaml files are skipped. A project whose specs do not compile is an error.
func GenerateTree(specs string, l Layout) (map[string][]byte, error) {
	if err := l.Check(); err != nil {
		return nil, err
	}
	dirs := map[string]string{} // project name → directory
	single, err := hasSpecs(specs)
	if err != nil {
		return nil, fmt.Errorf("codegen: %w", err)
	}
	if single {
		name := l.Project
		if name == "" {
			abs, err := filepath.Abs(specs)
			if err != nil {
				return nil, fmt.Errorf("codegen: %w", err)
			}
			if filepath.Base(abs) == "specs" {
				abs = filepath.Dir(abs)
			}
			name = strings.NewReplacer("-", "_", ".", "_").Replace(strings.ToLower(filepath.Base(abs)))
		}
		dirs[name] = specs
	} else {
		entries, err := os.ReadDir(specs)
		if err != nil {
			return nil, fmt.Errorf("codegen: %w", err)
		}
		for _, e := range entries {
			if !e.IsDir() {
				continue
			}
			dir := filepath.Join(specs, e.Name())
			has, err := hasSpecs(dir)
			if err != nil {
				return nil, fmt.Errorf("codegen: %w", err)
			}
			if has {
				dirs[e.Name()] = dir
			}
		}
	}
	if len(dirs) == 0 {
		return nil, fmt.Errorf("codegen: no spec files in %s or its subdirectories", specs)
	}
	projects := slices.Sorted(maps.Keys(dirs))
	out := map[string][]byte{}
	for _, name := range projects {
		reg, err := registry.LoadDir(dirs[name])
		if err != nil {
			return nil, fmt.Errorf("codegen %s: %w", name, err)
		}
		files, err := generate(reg, name, l)
		if err != nil {
			return nil, err
		}
		maps.Copy(out, files)
	}
	root := specPath(specs)
	if l.wants("python") {
		out[path.Join(l.PythonDir, "__init__.py")] = pythonIndex(root, l.PythonPackage, projects)
	}
	if l.wants("ts") {
		out[path.Join(l.TSDir, "index.ts")] = tsIndex(root, projects)
	}
	return out, nil
}

func hasSpecs(dir string) (bool, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false, err
	}
	for _, e := range entries {
		if ext := filepath.Ext(e.Name()); !e.IsDir() && (ext == ".yaml" || ext == ".yml") {
			return true, nil
		}
	}
	return false, nil
}

// project is the registry viewed as what the generators need: names already
// converted to each language's identifiers, checked for clashes once.
type project struct {
	name     string
	header   string // the first line of every generated file, without comment marker
	reg      *registry.Registry
	services []*service
}

type service struct {
	def *registry.FeatureService
	// keys are the join keys a request needs, in the order the service first uses
	// their views; entities sharing a key name share one request column.
	keys []registry.JoinKey
}

// CheckProjectName reports a project name the bindings cannot use: it must be
// lower_snake_case and not a Go or Python keyword, since it names a Python module
// and a Go package. floe init checks a new project's name with it.
func CheckProjectName(name string) error {
	if !projectPattern.MatchString(name) {
		return fmt.Errorf("project name %q must be lower_snake_case starting with a letter (it names a Python module and a Go package)", name)
	}
	if keywords[name] {
		return fmt.Errorf("project name %q is a Go or Python keyword", name)
	}
	return nil
}

func newProject(reg *registry.Registry, name string) (*project, error) {
	if err := CheckProjectName(name); err != nil {
		return nil, fmt.Errorf("codegen: %w; rename the directory or pass --project", err)
	}
	if reg == nil {
		return nil, errors.New("codegen: nil registry")
	}
	p := &project{name: name, reg: reg, header: "Code generated by floe gen from " + strings.Join(specFiles(reg), ", ") + "; DO NOT EDIT."}
	for _, s := range reg.FeatureServices {
		svc := &service{def: s}
		seen := map[string]registry.Type{}
		for _, f := range s.Features {
			k := f.View.Entity.Key()
			if t, dup := seen[k.Name]; dup {
				if t != k.Type {
					return nil, fmt.Errorf("codegen: feature service %q needs join key %q both as %s and as %s; give the entities distinct key names", s.Name, k.Name, t, k.Type)
				}
				continue
			}
			seen[k.Name] = k.Type
			svc.keys = append(svc.keys, k)
		}
		p.services = append(p.services, svc)
	}
	return p, nil
}

// specFiles lists the spec files behind a registry, repository-relative, so the
// header does not depend on where the repository is checked out.
func specFiles(reg *registry.Registry) []string {
	set := map[string]bool{}
	add := func(l registry.Location) {
		if l.File != "" {
			set[specPath(l.File)] = true
		}
	}
	for _, e := range reg.Entities {
		add(e.Location)
	}
	for _, v := range reg.FeatureViews {
		add(v.Location)
	}
	for _, s := range reg.FeatureServices {
		add(s.Location)
	}
	files := make([]string, 0, len(set))
	for f := range set {
		files = append(files, f)
	}
	sort.Strings(files)
	if len(files) == 0 {
		return []string{"specs"}
	}
	return files
}

// specPath shortens a spec path to start at its last "specs" directory, e.g.
// /home/me/floe/specs/examples/pricing/pricing.yaml → specs/examples/pricing/pricing.yaml.
// Paths outside a specs directory keep only their base name.
func specPath(file string) string {
	p := path.Clean(filepath.ToSlash(file))
	if p == "specs" || strings.HasPrefix(p, "specs/") {
		return p
	}
	if i := strings.LastIndex(p, "/specs/"); i >= 0 {
		return p[i+1:]
	}
	if strings.HasSuffix(p, "/specs") {
		return "specs"
	}
	return path.Base(p)
}

// Camel converts a lower_snake_case spec name to UpperCamelCase, as the generated
// bindings name a feature service's class or type: user_behavior → UserBehavior,
// sessions_7d → Sessions7d.
func Camel(name string) string { return camel(name) }

func camel(name string) string {
	var b strings.Builder
	for _, part := range strings.Split(name, "_") {
		if part == "" {
			continue
		}
		b.WriteString(strings.ToUpper(part[:1]))
		b.WriteString(part[1:])
	}
	return b.String()
}

// lowerCamel is camel with a lower-case first letter: pricing_agent_v1 → pricingAgentV1.
func lowerCamel(name string) string {
	c := camel(name)
	if c == "" {
		return c
	}
	return strings.ToLower(c[:1]) + c[1:]
}

// identifiers records generated identifiers so that two spec names mapping to the
// same identifier (a__b and a_b, or view a feature b_c and view a_b feature c) are
// reported instead of silently producing code that does not compile.
type identifiers struct {
	lang     string
	reserved map[string]bool
	used     map[string]string
}

func newIdentifiers(lang string, reserved ...string) *identifiers {
	ids := &identifiers{lang: lang, reserved: map[string]bool{}, used: map[string]string{}}
	for _, r := range reserved {
		ids.reserved[r] = true
	}
	return ids
}

func (ids *identifiers) claim(ident, what string) error {
	if ids.reserved[ident] {
		return fmt.Errorf("%s is generated as %s identifier %q, which is reserved; rename it", what, ids.lang, ident)
	}
	if other, dup := ids.used[ident]; dup {
		return fmt.Errorf("%s and %s are both generated as %s identifier %q; rename one", other, what, ids.lang, ident)
	}
	ids.used[ident] = what
	return nil
}

// oneLine collapses a free-text description onto one line so it can sit in any
// comment syntax.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// sentence returns a description as one line ending with a period, or fallback
// when there is no description.
func sentence(desc, fallback string) string {
	d := oneLine(desc)
	if d == "" {
		return fallback
	}
	if !strings.HasSuffix(d, ".") && !strings.HasSuffix(d, "!") && !strings.HasSuffix(d, "?") {
		d += "."
	}
	return d
}
