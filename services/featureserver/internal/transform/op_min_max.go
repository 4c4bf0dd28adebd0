package transform

import (
	"errors"
	"fmt"
	"slices"
)

// min_max {min, max}: (x - min) / (max - min) as double, not clipped: values outside
// [min, max] map outside [0, 1]. NaN → NaN, ±Inf → ±Inf.
//
// Fitted: minimum and maximum of the finite non-null values; a constant column is an
// error.
type minMaxOp struct{}

func init() { register(minMaxOp{}) }

func (minMaxOp) Name() string { return "min_max" }

func (minMaxOp) Doc() string { return "(x - min) / (max - min), as double; not clipped. min < max." }

func (minMaxOp) Params() []Param {
	return []Param{
		{Name: "min", Kind: Number, Required: true, Fitted: true},
		{Name: "max", Kind: Number, Required: true, Fitted: true},
	}
}

func (minMaxOp) Compile(a Args, in Shape) (Kernel, Shape, error) {
	if err := needNumeric("min_max", in.Type); err != nil {
		return nil, Shape{}, err
	}
	lo, hi, err := checkRange(a)
	if err != nil {
		return nil, Shape{}, err
	}
	return affine{lo: lo, div: hi - lo}, Shape{Type: TypeDouble}, nil
}

// checkRange checks the finite min < max of min_max and clip.
func checkRange(a Args) (lo, hi float64, err error) {
	lo, hi = a.Float("min"), a.Float("max")
	if !finite(lo, hi) {
		return 0, 0, errors.New("min and max must be finite")
	}
	if lo >= hi {
		return 0, 0, fmt.Errorf("min (%v) must be < max (%v)", lo, hi)
	}
	return lo, hi, nil
}

func (minMaxOp) FitOptions() []Param { return nil }

func (minMaxOp) Placeholder() Args { return Args{"min": 0.0, "max": 1.0} }

func (minMaxOp) Fit(c Column, _ Args) (Args, int, error) {
	xs, err := fitNumbers("min_max", c)
	if err != nil {
		return nil, 0, err
	}
	lo, hi := slices.Min(xs), slices.Max(xs)
	if lo == hi {
		return nil, 0, fmt.Errorf("all %d values are %v: min equals max", len(xs), lo)
	}
	return Args{"min": lo, "max": hi}, len(xs), nil
}
