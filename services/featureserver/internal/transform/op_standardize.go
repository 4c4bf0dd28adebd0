package transform

import (
	"errors"
	"fmt"
	"math"
	"sort"
)

// standardize {mean, std}: (x - mean) / std as double. NaN → NaN, ±Inf → ±Inf.
//
// Fitted: mean and population standard deviation of the finite non-null values; a
// constant column (std 0) is an error.
type standardizeOp struct{}

func init() { register(standardizeOp{}) }

func (standardizeOp) Name() string { return "standardize" }

func (standardizeOp) Doc() string { return "(x - mean) / std, as double." }

func (standardizeOp) Params() []Param {
	return []Param{
		{Name: "mean", Kind: Number, Required: true, Fitted: true},
		{Name: "std", Kind: Number, Required: true, Fitted: true, ExclusiveMinimum: Float64(0)},
	}
}

func (standardizeOp) Compile(a Args, in Shape) (Kernel, Shape, error) {
	if err := needNumeric("standardize", in.Type); err != nil {
		return nil, Shape{}, err
	}
	mean, std := a.Float("mean"), a.Float("std")
	if !finite(mean, std) {
		return nil, Shape{}, errors.New("mean and std must be finite")
	}
	if std <= 0 {
		return nil, Shape{}, fmt.Errorf("std must be > 0, got %v", std)
	}
	return affine{lo: mean, div: std}, Shape{Type: TypeDouble}, nil
}

func (standardizeOp) FitOptions() []Param { return nil }

func (standardizeOp) Placeholder() Args { return Args{"mean": 0.0, "std": 1.0} }

func (standardizeOp) Fit(c Column, _ Args) (Args, int, error) {
	xs, err := fitNumbers("standardize", c)
	if err != nil {
		return nil, 0, err
	}
	// Two-pass mean and variance, summed in sorted order so the result does not
	// depend on the scan's file order.
	sort.Float64s(xs)
	var sum float64
	for _, x := range xs {
		sum += x
	}
	mean := sum / float64(len(xs))
	var ss float64
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	std := math.Sqrt(ss / float64(len(xs)))
	if std == 0 || math.IsNaN(std) || math.IsInf(std, 0) {
		return nil, 0, fmt.Errorf("all %d values are %v: a constant has no standard deviation; drop the step or write its parameters", len(xs), mean)
	}
	return Args{"mean": mean, "std": std}, len(xs), nil
}

// affine is (x - lo) / div as double: standardize and min_max.
type affine struct{ lo, div float64 }

func (k affine) Apply(c Column) Column {
	xs, out := floatsIn(c)
	lo, div := k.lo, k.div
	for i, x := range xs {
		out[i] = (x - lo) / div
	}
	return Column{Type: TypeDouble, Floats: out, Null: c.Null}
}
