package registry

import "floe.dev/floe/services/featureserver/internal/transform"

// The types in this file mirror the YAML accepted in specs/ field for field; the
// JSON Schema in specs/schema/floe-spec.schema.json describes the same shape for
// editors. Compile turns them into the validated model in model.go.

// specFile is one YAML file. Any file may hold any of the sections.
type specFile struct {
	Entities        []entitySpec         `yaml:"entities"`
	Sources         []sourceSpec         `yaml:"sources"`
	FeatureViews    []featureViewSpec    `yaml:"feature_views"`
	FeatureServices []featureServiceSpec `yaml:"feature_services"`
}

type entitySpec struct {
	Line        int           `yaml:"-"`
	Name        string        `yaml:"name"`
	Description string        `yaml:"description"`
	JoinKeys    []joinKeySpec `yaml:"join_keys"`
}

type joinKeySpec struct {
	Line int    `yaml:"-"`
	Name string `yaml:"name"`
	Type string `yaml:"type"`
}

type sourceSpec struct {
	Line        int    `yaml:"-"`
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	// Table is the Iceberg table identifier, "namespace.table".
	Table string `yaml:"table"`
}

type featureViewSpec struct {
	Line        int           `yaml:"-"`
	Name        string        `yaml:"name"`
	Description string        `yaml:"description"`
	Entity      string        `yaml:"entity"`
	Source      string        `yaml:"source"`
	EventTime   string        `yaml:"event_time"`
	TTL         string        `yaml:"ttl"`
	Features    []featureSpec `yaml:"features"`
}

type featureSpec struct {
	Line        int    `yaml:"-"`
	Name        string `yaml:"name"`
	Type        string `yaml:"type"`
	Dim         int    `yaml:"dim"`
	Description string `yaml:"description"`
}

type featureServiceSpec struct {
	Line        int                  `yaml:"-"`
	Name        string               `yaml:"name"`
	Description string               `yaml:"description"`
	Features    []serviceFeatureSpec `yaml:"features"`
}

// serviceFeatureSpec is one feature of a feature service: either a plain
// "view:feature" string (served raw) or a mapping with a ref, an optional output name
// and a transform chain.
type serviceFeatureSpec struct {
	Line      int                 `yaml:"-"`
	Ref       string              `yaml:"ref"`
	Name      string              `yaml:"name"`
	Transform []transformStepSpec `yaml:"transform"`
}

// fromScalar accepts the short form: a bare "view:feature".
func (s *serviceFeatureSpec) fromScalar(line int, value string) {
	*s = serviceFeatureSpec{Line: line, Ref: value}
}

// transformStepSpec is one step of a transform chain: a mapping with exactly one key,
// the step's op, e.g. {standardize: {mean: 3, std: 2}}; a step without parameters may
// be written as a bare name (- log1p). The ops and their parameters come from the
// transform package's table, so it is decoded by decodeYAML (steps.go), not by
// field tags.
type transformStepSpec struct {
	Line int
	// op is the op the mapping names; n counts the ops it names (exactly one when
	// valid).
	op transform.Op
	n  int
	// pline is the line of the op's parameters.
	pline int
	// args are the parameters written, by name.
	args transform.Args
	// fitted is fitted: true; options are the fitting options written.
	fitted  bool
	options transform.Args
	// short is the step as written in the short form, "- log1p".
	short string
}

// lockFile is <spec>.lock.yaml, written by floe fit next to <spec>.yaml: the fitted
// parameters of every step marked fitted: true in that spec, and the data they were
// fitted on. Parameters are keyed by feature service, then by the feature's output
// name, and listed in chain order, one entry per fitted step, each written exactly
// like a step in a spec.
type lockFile struct {
	Version int `yaml:"version"`
	// SpecHash is the LockHash of the spec's fitted features when they were
	// fitted: a different hash at load means the lock is stale.
	SpecHash string `yaml:"spec_hash"`
	FittedAt string `yaml:"fitted_at"`
	// Snapshots pins the Iceberg snapshot each table was read at: table → snapshot id.
	Snapshots map[string]int64                          `yaml:"snapshots"`
	Services  map[string]map[string][]transformStepSpec `yaml:"services"`
}
