package transform

import (
	"errors"
	"fmt"
	"math"
	"sort"
)

// bucketize {boundaries}: int64 bucket index i such that boundaries[i-1] <= x <
// boundaries[i] (Keras Discretization / numpy digitize with right=False); a value
// exactly on a boundary goes to the bucket above it. -Inf → 0, +Inf →
// len(boundaries), and NaN → len(boundaries) (NaN compares false with every boundary,
// as in Keras, TensorFlow and numpy). Indices run 0..len(boundaries).
//
// Fitted: num_buckets-1 boundaries at the quantiles k/num_buckets of the finite
// non-null values (lower nearest rank of the sorted values), duplicates dropped; a
// constant column is an error.
type bucketizeOp struct{}

func init() { register(bucketizeOp{}) }

func (bucketizeOp) Name() string { return "bucketize" }

func (bucketizeOp) Doc() string { return "int64 bucket index, 0..len(boundaries)." }

func (bucketizeOp) Params() []Param {
	return []Param{{
		Name: "boundaries", Kind: Numbers, Required: true, Fitted: true, MinItems: 1,
		Doc: "Strictly increasing. Bucket i holds boundaries[i-1] <= x < boundaries[i].",
	}}
}

func (bucketizeOp) Compile(a Args, in Shape) (Kernel, Shape, error) {
	if err := needNumeric("bucketize", in.Type); err != nil {
		return nil, Shape{}, err
	}
	bounds := a.Floats("boundaries")
	if len(bounds) == 0 {
		return nil, Shape{}, errors.New("boundaries must not be empty")
	}
	for i, b := range bounds {
		if !finite(b) {
			return nil, Shape{}, fmt.Errorf("boundaries[%d] must be finite", i)
		}
		if i > 0 && b <= bounds[i-1] {
			return nil, Shape{}, fmt.Errorf("boundaries must be strictly increasing: boundaries[%d] = %v follows %v", i, b, bounds[i-1])
		}
	}
	return bucketize{bounds}, Shape{Type: TypeInt64, Card: len(bounds) + 1}, nil
}

func (bucketizeOp) FitOptions() []Param {
	return []Param{{
		Name: "num_buckets", Kind: Integer, Required: true, Minimum: Float64(2),
		Doc: "the number of buckets floe fit cuts at quantiles of the data",
	}}
}

func (bucketizeOp) Placeholder() Args { return Args{"boundaries": []float64{0}} }

func (bucketizeOp) Fit(c Column, opts Args) (Args, int, error) {
	xs, err := fitNumbers("bucketize", c)
	if err != nil {
		return nil, 0, err
	}
	numBuckets := opts.Int("num_buckets")
	sort.Float64s(xs)
	if xs[0] == xs[len(xs)-1] {
		return nil, 0, fmt.Errorf("all %d values are %v: no boundary separates them", len(xs), xs[0])
	}
	var bounds []float64
	for k := 1; k < numBuckets; k++ {
		b := xs[k*len(xs)/numBuckets]
		if len(bounds) == 0 || b > bounds[len(bounds)-1] {
			bounds = append(bounds, b)
		}
	}
	return Args{"boundaries": bounds}, len(xs), nil
}

type bucketize struct{ bounds []float64 }

func (k bucketize) Apply(c Column) Column {
	xs := asFloats(c)
	out := make([]int64, len(xs))
	for i, x := range xs {
		if math.IsNaN(x) {
			out[i] = int64(len(k.bounds))
			continue
		}
		// number of boundaries <= x
		out[i] = int64(countAtOrBelow(k.bounds, x))
	}
	return Column{Type: TypeInt64, Ints: out, Null: c.Null}
}

// countAtOrBelow is the number of sorted bounds <= x, by binary search.
func countAtOrBelow(bounds []float64, x float64) int {
	lo, hi := 0, len(bounds)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if bounds[m] <= x {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}
