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
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"floe.dev/floe/services/featureserver/internal/registry"
)

// Output paths, relative to the repository root. Projects become file (Python,
// TypeScript) or package (Go) names, hence the identifier rule below.
const (
	pythonDir = "sdk/python/src/floe/features"
	tsDir     = "sdk/ts/src/features"
	goDir     = "sdk/go/features"
)

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

// Generate returns the generated files of one project, keyed by path relative to the
// repository root: the Python module, the TypeScript module and the Go package.
// project names the files and the Go package; it is usually the name of the
// directory the specs were loaded from.
func Generate(reg *registry.Registry, project string) (map[string][]byte, error) {
	p, err := newProject(reg, project)
	if err != nil {
		return nil, err
	}
	py, err := p.python()
	if err != nil {
		return nil, fmt.Errorf("codegen %s: python: %w", project, err)
	}
	ts, err := p.typescript()
	if err != nil {
		return nil, fmt.Errorf("codegen %s: typescript: %w", project, err)
	}
	gosrc, err := p.golang()
	if err != nil {
		return nil, fmt.Errorf("codegen %s: go: %w", project, err)
	}
	return map[string][]byte{
		pythonDir + "/" + project + ".py":      py,
		tsDir + "/" + project + ".ts":          ts,
		goDir + "/" + project + "/features.go": gosrc,
	}, nil
}

// GenerateAll loads every subdirectory of specRoot that holds spec files (for
// example specs/examples/pricing) as one project named after the directory, and
// returns the generated files of all of them plus index files that list the
// projects (floe/features/__init__.py and features/index.ts). Directories without
// *.yaml files are skipped; a project whose specs do not compile is an error.
func GenerateAll(specRoot string) (map[string][]byte, error) {
	entries, err := os.ReadDir(specRoot)
	if err != nil {
		return nil, fmt.Errorf("codegen: %w", err)
	}
	out := map[string][]byte{}
	var projects []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(specRoot, e.Name())
		has, err := hasSpecs(dir)
		if err != nil {
			return nil, fmt.Errorf("codegen: %w", err)
		}
		if !has {
			continue
		}
		reg, err := registry.LoadDir(dir)
		if err != nil {
			return nil, fmt.Errorf("codegen %s: %w", e.Name(), err)
		}
		files, err := Generate(reg, e.Name())
		if err != nil {
			return nil, err
		}
		for k, v := range files {
			out[k] = v
		}
		projects = append(projects, e.Name())
	}
	if len(projects) == 0 {
		return nil, fmt.Errorf("codegen: no spec directories under %s", specRoot)
	}
	sort.Strings(projects)
	root := specPath(specRoot)
	out[pythonDir+"/__init__.py"] = pythonIndex(root, projects)
	out[tsDir+"/index.ts"] = tsIndex(root, projects)
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

func newProject(reg *registry.Registry, name string) (*project, error) {
	if !projectPattern.MatchString(name) {
		return nil, fmt.Errorf("codegen: project name %q must be lower_snake_case (it names a Python module and a Go package)", name)
	}
	if keywords[name] {
		return nil, fmt.Errorf("codegen: project name %q is a Go or Python keyword; rename the directory", name)
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

// camel converts a lower_snake_case spec name to UpperCamelCase: user_behavior →
// UserBehavior, sessions_7d → Sessions7d.
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
