package transform

// clip {min, max}: min(max(x, min), max) as double. NaN → NaN, -Inf → min, +Inf → max.
type clipOp struct{}

func init() { register(clipOp{}) }

func (clipOp) Name() string { return "clip" }

func (clipOp) Doc() string { return "Limit to [min, max], as double. min < max." }

func (clipOp) Params() []Param {
	return []Param{
		{Name: "min", Kind: Number, Required: true},
		{Name: "max", Kind: Number, Required: true},
	}
}

func (clipOp) Compile(a Args, in Shape) (Kernel, Shape, error) {
	if err := needNumeric("clip", in.Type); err != nil {
		return nil, Shape{}, err
	}
	lo, hi, err := checkRange(a)
	if err != nil {
		return nil, Shape{}, err
	}
	return clip{lo, hi}, Shape{Type: TypeDouble}, nil
}

type clip struct{ lo, hi float64 }

func (k clip) Apply(c Column) Column {
	xs, out := floatsIn(c)
	lo, hi := k.lo, k.hi
	for i, x := range xs {
		switch {
		case x < lo:
			x = lo
		case x > hi:
			x = hi
		}
		out[i] = x // NaN compares false both ways and passes through
	}
	return Column{Type: TypeDouble, Floats: out, Null: c.Null}
}
