package registry

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
// the step, e.g. {standardize: {mean: 3, std: 2}}; a step without parameters may be
// written as a bare name (- log1p).
type transformStepSpec struct {
	Line        int              `yaml:"-"`
	Standardize *standardizeSpec `yaml:"standardize"`
	MinMax      *rangeSpec       `yaml:"min_max"`
	Clip        *clipSpec        `yaml:"clip"`
	Log1p       *emptySpec       `yaml:"log1p"`
	Bucketize   *bucketizeSpec   `yaml:"bucketize"`
	Lookup      *lookupSpec      `yaml:"lookup"`
	OneHot      *oneHotSpec      `yaml:"one_hot"`
	Hash        *hashSpec        `yaml:"hash"`
	FillNull    *fillNullSpec    `yaml:"fill_null"`
	Cast        *castSpec        `yaml:"cast"`

	// short is the step as written in the short form, "- log1p".
	short string
}

func (s *transformStepSpec) fromScalar(line int, value string) {
	*s = transformStepSpec{Line: line, short: value}
	if value == "log1p" {
		s.Log1p = &emptySpec{Line: line}
	}
}

type emptySpec struct {
	Line int `yaml:"-"`
}

// Steps whose parameters can be fitted take fitted: true instead of the parameters;
// the values then come from the lock file next to the spec.

type standardizeSpec struct {
	Line   int      `yaml:"-"`
	Mean   *float64 `yaml:"mean"`
	Std    *float64 `yaml:"std"`
	Fitted bool     `yaml:"fitted"`
}

type rangeSpec struct {
	Line   int      `yaml:"-"`
	Min    *float64 `yaml:"min"`
	Max    *float64 `yaml:"max"`
	Fitted bool     `yaml:"fitted"`
}

type clipSpec struct {
	Line int      `yaml:"-"`
	Min  *float64 `yaml:"min"`
	Max  *float64 `yaml:"max"`
}

type bucketizeSpec struct {
	Line       int       `yaml:"-"`
	Boundaries []float64 `yaml:"boundaries"`
	Fitted     bool      `yaml:"fitted"`
	// NumBuckets is how many buckets floe fit cuts at quantiles (fitted only).
	NumBuckets *int `yaml:"num_buckets"`
}

type lookupSpec struct {
	Line       int      `yaml:"-"`
	Vocabulary []string `yaml:"vocabulary"`
	OOVBuckets *int     `yaml:"oov_buckets"`
	Fitted     bool     `yaml:"fitted"`
	// MaxTokens caps the vocabulary floe fit keeps to the most frequent values
	// (fitted only; none: every value seen).
	MaxTokens *int `yaml:"max_tokens"`
}

type oneHotSpec struct {
	Line  int `yaml:"-"`
	Depth int `yaml:"depth"`
}

type hashSpec struct {
	Line     int    `yaml:"-"`
	Bins     int    `yaml:"bins"`
	Function string `yaml:"function"`
}

type fillNullSpec struct {
	Line  int `yaml:"-"`
	Value any `yaml:"value"`
}

type castSpec struct {
	Line int    `yaml:"-"`
	To   string `yaml:"to"`
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
