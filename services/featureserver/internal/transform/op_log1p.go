package transform

import "math"

// log1p: ln(1 + x) as double (math.Log1p). x < -1 → NaN, x = -1 → -Inf, +Inf → +Inf,
// NaN → NaN.
type log1pOp struct{}

func init() { register(log1pOp{}) }

func (log1pOp) Name() string { return "log1p" }

func (log1pOp) Doc() string { return "ln(1 + x), as double." }

func (log1pOp) Params() []Param { return nil }

func (log1pOp) Compile(_ Args, in Shape) (Kernel, Shape, error) {
	if err := needNumeric("log1p", in.Type); err != nil {
		return nil, Shape{}, err
	}
	return log1p{}, Shape{Type: TypeDouble}, nil
}

type log1p struct{}

func (log1p) Apply(c Column) Column { return mapFloats(c, math.Log1p) }
