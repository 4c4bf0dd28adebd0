package registry

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

var namePattern = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// LoadDir reads every *.yaml and *.yml file directly in dir and compiles them into a
// Registry. Problems are reported all at once as an ErrorList naming file, line and
// field; errors.Is(err, ErrInvalidSpec) holds for them.
func LoadDir(dir string) (*Registry, error) {
	files, err := ReadDir(dir)
	if err != nil {
		return nil, err
	}
	return Compile(files)
}

// ReadDir reads every *.yaml and *.yml file directly in dir: path → content.
func ReadDir(dir string) (map[string][]byte, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read specs: %w", err)
	}
	files := map[string][]byte{}
	for _, e := range entries {
		ext := filepath.Ext(e.Name())
		if e.IsDir() || (ext != ".yaml" && ext != ".yml") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read specs: %w", err)
		}
		files[path] = data
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("read specs: no *.yaml files in %s: %w", dir, fs.ErrNotExist)
	}
	return files, nil
}

// Compile compiles spec files given as path → YAML content. A file named
// <spec>.lock.yaml is not a spec but the lock file of <spec>.yaml: the fitted
// parameters of its steps marked fitted: true (see lockFile).
func Compile(files map[string][]byte) (*Registry, error) {
	c := compiler{errs: &ErrorList{}}
	return c.run(files)
}

func (c *compiler) run(files map[string][]byte) (*Registry, error) {
	errs := c.errs
	paths := sortedKeys(files)
	for _, path := range paths {
		var root yaml.Node
		dec := yaml.NewDecoder(bytes.NewReader(files[path]))
		if err := dec.Decode(&root); err != nil {
			line := 0
			msg := err.Error()
			if m := regexp.MustCompile(`^yaml: line (\d+): (.*)$`).FindStringSubmatch(msg); m != nil {
				line, _ = strconv.Atoi(m[1])
				msg = m[2]
			}
			if err.Error() == "EOF" {
				continue
			}
			errs.add(path, line, "", "not valid YAML: %s", msg)
			continue
		}
		if isLockPath(path) {
			if !c.fit { // floe fit rewrites locks: the old ones don't matter
				c.parseLock(path, &root)
			}
			continue
		}
		var f specFile
		decodeStrict(path, &root, reflect.ValueOf(&f).Elem(), "", errs)
		c.files = append(c.files, parsedFile{path: path, spec: f})
	}
	reg := c.compile()
	specs := map[string]bool{}
	for _, f := range c.files {
		specs[strings.TrimSuffix(f.path, filepath.Ext(f.path))] = true
	}
	c.checkLocks(specs)
	if err := errs.err(); err != nil {
		return nil, err
	}
	return reg, nil
}

type parsedFile struct {
	path string
	spec specFile
}

type compiler struct {
	files []parsedFile
	errs  *ErrorList
	// locks are the lock files by path.
	locks map[string]*parsedLock

	// fit is set by CompileForFit: steps marked fitted: true are collected in
	// targets instead of being resolved from lock files.
	fit     bool
	targets []FitTarget
}

func (c *compiler) compile() *Registry {
	r := &Registry{
		entities: map[string]*Entity{},
		views:    map[string]*FeatureView{},
		services: map[string]*FeatureService{},
	}
	sources := map[string]*Source{}
	// Definitions may refer to ones in other files, so each kind is collected from
	// every file before the next kind is resolved.
	for _, f := range c.files {
		for i, s := range f.spec.Entities {
			if e := c.entity(f.path, fmt.Sprintf("entities[%d]", i), s); e != nil && unique(c, f.path, s.Line, fmt.Sprintf("entities[%d].name", i), "entity", e.Name, r.entities) {
				r.entities[e.Name] = e
				r.Entities = append(r.Entities, e)
			}
		}
		for i, s := range f.spec.Sources {
			if src := c.source(f.path, fmt.Sprintf("sources[%d]", i), s); src != nil && unique(c, f.path, s.Line, fmt.Sprintf("sources[%d].name", i), "source", src.Name, sources) {
				sources[src.Name] = src
				r.Sources = append(r.Sources, src)
			}
		}
	}
	tables := map[string]string{}
	for _, f := range c.files {
		for i, s := range f.spec.FeatureViews {
			field := fmt.Sprintf("feature_views[%d]", i)
			v := c.view(f.path, field, s, r.entities, sources)
			if v == nil || !unique(c, f.path, s.Line, field+".name", "feature view", v.Name, r.views) {
				continue
			}
			if other, ok := tables[v.Source.Identifier()]; ok {
				c.errs.add(f.path, s.Line, field+".source", "table %s is already read by feature view %q; give each view its own table", v.Source.Identifier(), other)
				continue
			}
			tables[v.Source.Identifier()] = v.Name
			r.views[v.Name] = v
			r.FeatureViews = append(r.FeatureViews, v)
		}
	}
	for _, f := range c.files {
		for i, s := range f.spec.FeatureServices {
			field := fmt.Sprintf("feature_services[%d]", i)
			if svc := c.service(f.path, field, s, r); svc != nil && unique(c, f.path, s.Line, field+".name", "feature service", svc.Name, r.services) {
				r.services[svc.Name] = svc
				r.FeatureServices = append(r.FeatureServices, svc)
			}
		}
	}
	sort.Slice(r.Entities, func(i, j int) bool { return r.Entities[i].Name < r.Entities[j].Name })
	sort.Slice(r.Sources, func(i, j int) bool { return r.Sources[i].Name < r.Sources[j].Name })
	sort.Slice(r.FeatureViews, func(i, j int) bool { return r.FeatureViews[i].Name < r.FeatureViews[j].Name })
	sort.Slice(r.FeatureServices, func(i, j int) bool { return r.FeatureServices[i].Name < r.FeatureServices[j].Name })
	r.Version = version(r)
	return r
}

func unique[V any](c *compiler, file string, line int, field, kind, name string, seen map[string]V) bool {
	if _, dup := seen[name]; dup {
		c.errs.add(file, line, field, "%s %q is defined twice", kind, name)
		return false
	}
	return true
}

func (c *compiler) name(file string, line int, field, name string) bool {
	if name == "" {
		c.errs.add(file, line, field, "is required")
		return false
	}
	if !namePattern.MatchString(name) {
		c.errs.add(file, line, field, "%q must be lower_snake_case (letters, digits, underscores; starting with a letter)", name)
		return false
	}
	return true
}

func (c *compiler) entity(file, field string, s entitySpec) *Entity {
	ok := c.name(file, s.Line, field+".name", s.Name)
	e := &Entity{Name: s.Name, Description: s.Description, Location: Location{file, s.Line}}
	switch {
	case len(s.JoinKeys) == 0:
		c.errs.add(file, s.Line, field+".join_keys", "is required: name the key column and its type, e.g. [{name: user_id, type: int64}]")
		ok = false
	case len(s.JoinKeys) > 1:
		c.errs.add(file, s.JoinKeys[1].Line, field+".join_keys", "composite join keys are not supported yet; use one key column")
		ok = false
	}
	for i, k := range s.JoinKeys {
		kf := fmt.Sprintf("%s.join_keys[%d]", field, i)
		ok = c.name(file, k.Line, kf+".name", k.Name) && ok
		t, known := ParseType(k.Type)
		if !known || (t != TypeInt64 && t != TypeString) {
			c.errs.add(file, k.Line, kf+".type", "join key type %q is not supported (use int64 or string)", k.Type)
			ok = false
		}
		e.JoinKeys = append(e.JoinKeys, JoinKey{Name: k.Name, Type: t})
	}
	if !ok {
		return nil
	}
	return e
}

func (c *compiler) source(file, field string, s sourceSpec) *Source {
	ok := c.name(file, s.Line, field+".name", s.Name)
	ns, table, found := strings.Cut(s.Table, ".")
	if !found || !namePattern.MatchString(ns) || !namePattern.MatchString(table) {
		c.errs.add(file, s.Line, field+".table", "%q must be an Iceberg identifier namespace.table in lower_snake_case", s.Table)
		ok = false
	}
	if !ok {
		return nil
	}
	return &Source{Name: s.Name, Description: s.Description, Namespace: ns, Table: table, Location: Location{file, s.Line}}
}

func (c *compiler) view(file, field string, s featureViewSpec, entities map[string]*Entity, sources map[string]*Source) *FeatureView {
	ok := c.name(file, s.Line, field+".name", s.Name)
	v := &FeatureView{Name: s.Name, Description: s.Description, EventTime: s.EventTime, Location: Location{file, s.Line}, byName: map[string]*Feature{}}
	if v.EventTime == "" {
		v.EventTime = "event_time"
	} else {
		ok = c.name(file, s.Line, field+".event_time", v.EventTime) && ok
	}
	if e, found := entities[s.Entity]; found {
		v.Entity = e
	} else {
		c.errs.add(file, s.Line, field+".entity", "unknown entity %q (defined: %s)", s.Entity, strings.Join(sortedKeys(entities), ", "))
		ok = false
	}
	if src, found := sources[s.Source]; found {
		v.Source = src
	} else {
		c.errs.add(file, s.Line, field+".source", "unknown source %q (defined: %s)", s.Source, strings.Join(sortedKeys(sources), ", "))
		ok = false
	}
	ttl, err := ParseTTL(s.TTL)
	if err != nil {
		c.errs.add(file, s.Line, field+".ttl", "%v", err)
		ok = false
	}
	v.TTL = ttl
	if len(s.Features) == 0 {
		c.errs.add(file, s.Line, field+".features", "is required: a view needs at least one feature")
		ok = false
	}
	reserved := map[string]string{v.EventTime: "the event time column"}
	if v.Entity != nil {
		reserved[v.Entity.Key().Name] = "the join key"
	}
	for i, fs := range s.Features {
		ff := fmt.Sprintf("%s.features[%d]", field, i)
		if !c.name(file, fs.Line, ff+".name", fs.Name) {
			ok = false
			continue
		}
		if _, dup := v.byName[fs.Name]; dup {
			c.errs.add(file, fs.Line, ff+".name", "feature %q is defined twice in view %q", fs.Name, s.Name)
			ok = false
			continue
		}
		if what, clash := reserved[fs.Name]; clash {
			c.errs.add(file, fs.Line, ff+".name", "feature %q has the name of %s", fs.Name, what)
			ok = false
			continue
		}
		t, known := ParseType(fs.Type)
		if !known {
			c.errs.add(file, fs.Line, ff+".type", "unknown type %q (use one of int64, double, string, bool, timestamp, float_vector)", fs.Type)
			ok = false
		}
		switch {
		case t == TypeFloatVector && fs.Dim <= 0:
			c.errs.add(file, fs.Line, ff+".dim", "float_vector needs a positive dim")
			ok = false
		case t != TypeFloatVector && fs.Dim != 0:
			c.errs.add(file, fs.Line, ff+".dim", "dim applies only to float_vector features")
			ok = false
		}
		f := &Feature{Name: fs.Name, Type: t, Dim: fs.Dim, Description: fs.Description, Index: len(v.Features)}
		v.Features = append(v.Features, f)
		v.byName[f.Name] = f
	}
	if !ok {
		return nil
	}
	v.SchemaHash = schemaHash(v)
	return v
}

func (c *compiler) service(file, field string, s featureServiceSpec, r *Registry) *FeatureService {
	ok := c.name(file, s.Line, field+".name", s.Name)
	svc := &FeatureService{Name: s.Name, Description: s.Description, Location: Location{file, s.Line}}
	if len(s.Features) == 0 {
		c.errs.add(file, s.Line, field+".features", "is required: list the features the model consumes, as view:feature")
		ok = false
	}
	seen := map[string]bool{}
	outputs := map[string]bool{}
	var lock *parsedLock
	for i, fs := range s.Features {
		ff := fmt.Sprintf("%s.features[%d]", field, i)
		if fs.Ref == "" {
			c.errs.add(file, fs.Line, ff+".ref", "is required: the feature to serve, as view:feature")
			ok = false
			continue
		}
		// A view feature appears once per service, raw or transformed: the read
		// path maps each stored feature to one response column.
		if seen[fs.Ref] {
			c.errs.add(file, fs.Line, ff, "%q is listed twice", fs.Ref)
			ok = false
			continue
		}
		seen[fs.Ref] = true
		resolved, err := r.ResolveRef(fs.Ref)
		if err != nil {
			c.errs.add(file, fs.Line, ff, "%v", err)
			ok = false
			continue
		}
		if fs.Name != "" {
			if !c.name(file, fs.Line, ff+".name", fs.Name) {
				ok = false
				continue
			}
			resolved.Alias = fs.Name
		}
		if out := resolved.OutputName(); outputs[out] {
			c.errs.add(file, fs.Line, ff+".name", "output name %q is used twice", out)
			ok = false
			continue
		} else {
			outputs[out] = true
		}
		if len(fs.Transform) > 0 {
			lock = c.lockFor(file)
			ch, fit := c.chain(file, ff+".transform", fs.Transform, resolved, lock, s.Name)
			if ch == nil {
				ok = false
				continue
			}
			if fit != nil && c.fit {
				// Parameters still to be fitted: the feature has no chain yet.
				c.targets = append(c.targets, *fit)
				svc.Features = append(svc.Features, resolved)
				continue
			}
			if fit != nil && lock != nil {
				lock.defs = append(lock.defs, fit.Definition())
			}
			resolved.Transform = ch
			resolved.OutputType, resolved.OutputDim = Type(ch.Out), ch.OutDim
			resolved.FittedSteps = fit.fittedSteps()
			if lock != nil && lock.used[[2]string{s.Name, resolved.OutputName()}] && svc.Fit == nil {
				svc.Fit = &FitInfo{LockFile: lock.path, FittedAt: lock.lock.FittedAt, Snapshots: lock.lock.Snapshots}
			}
		}
		svc.Features = append(svc.Features, resolved)
	}
	if !ok {
		return nil
	}
	return svc
}

// ParseTTL parses a TTL as written in specs: a Go duration ("36h", "90m"), a number
// of days ("30d"), or "" / "0" for values that never expire.
func ParseTTL(s string) (time.Duration, error) {
	if s == "" || s == "0" {
		return 0, nil
	}
	if days, found := strings.CutSuffix(s, "d"); found {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%q is not a duration (write e.g. 30d, 36h or 90m)", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is not a duration (write e.g. 30d, 36h or 90m)", s)
	}
	return d, nil
}

func schemaHash(v *FeatureView) uint32 {
	h := fnv.New32a()
	fmt.Fprintf(h, "%s|%s|%s", v.Name, v.Entity.Key().Name, v.Entity.Key().Type)
	for _, f := range v.Features {
		fmt.Fprintf(h, "|%s:%s:%d", f.Name, f.Type, f.Dim)
	}
	return h.Sum32()
}

func version(r *Registry) string {
	h := sha256.New()
	for _, e := range r.Entities {
		fmt.Fprintf(h, "entity %s %q", e.Name, e.Description)
		for _, k := range e.JoinKeys {
			fmt.Fprintf(h, " %s:%s", k.Name, k.Type)
		}
		h.Write([]byte{'\n'})
	}
	for _, s := range r.Sources {
		fmt.Fprintf(h, "source %s %s %q\n", s.Name, s.Identifier(), s.Description)
	}
	for _, v := range r.FeatureViews {
		fmt.Fprintf(h, "view %s %s %s %s %d %q", v.Name, v.Entity.Name, v.Source.Name, v.EventTime, v.TTL, v.Description)
		for _, f := range v.Features {
			fmt.Fprintf(h, " %s:%s:%d:%q", f.Name, f.Type, f.Dim, f.Description)
		}
		h.Write([]byte{'\n'})
	}
	for _, s := range r.FeatureServices {
		fmt.Fprintf(h, "service %s %q", s.Name, s.Description)
		for _, f := range s.Features {
			fmt.Fprintf(h, " %s", f.Name())
			// Raw features hash as before, so adding transforms elsewhere leaves the
			// meaning of older versions alone.
			if f.Alias != "" || f.Transform != nil {
				fmt.Fprintf(h, "{name=%q transform=%q}", f.Alias, f.Transform.String())
			}
		}
		h.Write([]byte{'\n'})
	}
	sum := h.Sum(nil)
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], binary.BigEndian.Uint64(sum[:8]))
	return hex.EncodeToString(b[:])
}
