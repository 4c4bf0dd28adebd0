// Package registry compiles the YAML specs in specs/ into the validated, versioned
// model every other part of the server reads: entities, sources, feature views and
// feature services. The server owns its registry; nothing reads a serialized form
// produced by another language.
package registry

import (
	"fmt"
	"time"

	"floe.dev/floe/services/featureserver/internal/transform"
)

// Type is the closed set of value types a feature or join key may have.
type Type int

// The value types. Their order matches floe.v1.ValueType.
const (
	TypeUnspecified Type = iota
	TypeInt64
	TypeDouble
	TypeString
	TypeBool
	TypeTimestamp
	TypeFloatVector
)

var typeNames = map[Type]string{
	TypeInt64:       "int64",
	TypeDouble:      "double",
	TypeString:      "string",
	TypeBool:        "bool",
	TypeTimestamp:   "timestamp",
	TypeFloatVector: "float_vector",
}

// String returns the spelling used in specs.
func (t Type) String() string {
	if n, ok := typeNames[t]; ok {
		return n
	}
	return fmt.Sprintf("Type(%d)", int(t))
}

// ParseType parses a type as spelled in specs.
func ParseType(s string) (Type, bool) {
	for t, n := range typeNames {
		if n == s {
			return t, true
		}
	}
	return TypeUnspecified, false
}

// Location is where a definition was declared.
type Location struct {
	File string
	Line int
}

func (l Location) String() string { return fmt.Sprintf("%s:%d", l.File, l.Line) }

// JoinKey is one key column of an entity.
type JoinKey struct {
	Name string
	Type Type
}

// Entity is a kind of thing features describe.
type Entity struct {
	Name        string
	Description string
	// JoinKeys has exactly one key today; the list leaves room for composite keys.
	JoinKeys []JoinKey
	Location Location
}

// Key returns the entity's join key.
func (e *Entity) Key() JoinKey { return e.JoinKeys[0] }

// Source is an Iceberg table that feature views read.
type Source struct {
	Name        string
	Description string
	Namespace   string
	Table       string
	Location    Location
}

// Identifier returns "namespace.table".
func (s *Source) Identifier() string { return s.Namespace + "." + s.Table }

// Feature is one typed column of a feature view.
type Feature struct {
	Name        string
	Type        Type
	Dim         int
	Description string
	// Index is the feature's position in its view, which is also its position in
	// the view's online encoding.
	Index int
}

// FeatureView is a set of features of one entity read from one Iceberg table.
type FeatureView struct {
	Name        string
	Description string
	Entity      *Entity
	Source      *Source
	// EventTime is the column holding each row's event time.
	EventTime string
	// TTL after which a value is reported expired; 0 means never.
	TTL      time.Duration
	Features []*Feature
	Location Location
	// SchemaHash identifies the view's online encoding (features, types, order). Values
	// written under another hash are ignored rather than misread.
	SchemaHash uint32

	byName map[string]*Feature
}

// Feature returns the named feature of the view.
func (v *FeatureView) Feature(name string) (*Feature, bool) {
	f, ok := v.byName[name]
	return f, ok
}

// FeatureRef is a resolved "view:feature" reference and, in a feature service, how the
// server returns it: raw, or through a transform chain.
type FeatureRef struct {
	View    *FeatureView
	Feature *Feature
	// Alias is the output name given in the spec (name:), "" when none.
	Alias string
	// Transform is the compiled chain to apply to the feature's values; nil when the
	// feature is served raw.
	Transform *transform.Chain
	// OutputType and OutputDim are the type (and float_vector dim) of the values the
	// server returns: the feature's own when raw, the chain's output when transformed.
	// They are set by the registry; for a FeatureRef built by hand use Output().
	OutputType Type
	OutputDim  int
	// FittedSteps are the indexes in Transform.Steps of the steps marked fitted: true,
	// whose parameters came from the lock file in FeatureService.Fit.
	FittedSteps []int
}

// Name returns the reference as written: "view:feature".
func (r FeatureRef) Name() string { return r.View.Name + ":" + r.Feature.Name }

// OutputName is the name of the returned column: the alias when the spec gives one,
// else "view:feature".
func (r FeatureRef) OutputName() string {
	if r.Alias != "" {
		return r.Alias
	}
	return r.Name()
}

// Output returns the type and float_vector dim of the returned values.
func (r FeatureRef) Output() (Type, int) {
	if r.Transform != nil {
		return Type(r.Transform.Out), r.Transform.OutDim
	}
	return r.Feature.Type, r.Feature.Dim
}

// FeatureService is a model's input contract: an ordered list of features.
type FeatureService struct {
	Name        string
	Description string
	Features    []FeatureRef
	Location    Location
	// Fit is set when a step of the service is fitted: the lock file its parameters
	// came from and the Iceberg snapshots they were fitted on.
	Fit *FitInfo
}

// FitInfo describes the lock file behind a feature service's fitted parameters.
type FitInfo struct {
	LockFile string
	FittedAt string
	// Snapshots maps an Iceberg table ("namespace.table") to the snapshot id read.
	Snapshots map[string]int64
}

// Registry is the compiled, validated set of definitions. It is immutable once built.
type Registry struct {
	// Version is a hash of every definition; it changes whenever any of them does.
	Version string

	Entities        []*Entity
	Sources         []*Source
	FeatureViews    []*FeatureView
	FeatureServices []*FeatureService

	entities map[string]*Entity
	views    map[string]*FeatureView
	services map[string]*FeatureService
}

// Entity returns the named entity.
func (r *Registry) Entity(name string) (*Entity, bool) { e, ok := r.entities[name]; return e, ok }

// FeatureView returns the named feature view.
func (r *Registry) FeatureView(name string) (*FeatureView, bool) {
	v, ok := r.views[name]
	return v, ok
}

// FeatureService returns the named feature service.
func (r *Registry) FeatureService(name string) (*FeatureService, bool) {
	s, ok := r.services[name]
	return s, ok
}

// ResolveRef resolves a "view:feature" reference.
func (r *Registry) ResolveRef(ref string) (FeatureRef, error) {
	viewName, featName, ok := splitRef(ref)
	if !ok {
		return FeatureRef{}, fmt.Errorf("feature reference %q is not of the form view:feature", ref)
	}
	v, ok := r.views[viewName]
	if !ok {
		return FeatureRef{}, fmt.Errorf("feature reference %q: unknown feature view %q", ref, viewName)
	}
	f, ok := v.byName[featName]
	if !ok {
		return FeatureRef{}, fmt.Errorf("feature reference %q: feature view %q has no feature %q", ref, viewName, featName)
	}
	return FeatureRef{View: v, Feature: f, OutputType: f.Type, OutputDim: f.Dim}, nil
}

func splitRef(ref string) (view, feature string, ok bool) {
	for i := 0; i < len(ref); i++ {
		if ref[i] == ':' {
			view, feature = ref[:i], ref[i+1:]
			return view, feature, view != "" && feature != ""
		}
	}
	return "", "", false
}
