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
	Line        int          `yaml:"-"`
	Name        string       `yaml:"name"`
	Description string       `yaml:"description"`
	Features    []lineString `yaml:"features"`
}
