package transform

import (
	"errors"
	"fmt"
	"math"
)

// fitNumbers returns the finite non-null values of a numeric column as float64, what
// the numeric fits compute on (nulls, NaN and ±Inf are skipped).
func fitNumbers(op string, c Column) ([]float64, error) {
	out := []float64{}
	switch c.Type {
	case TypeInt64:
		for i, v := range c.Ints {
			if !c.IsNull(i) {
				out = append(out, float64(v))
			}
		}
	case TypeDouble:
		for i, v := range c.Floats {
			if !c.IsNull(i) && !math.IsNaN(v) && !math.IsInf(v, 0) {
				out = append(out, v)
			}
		}
	default:
		return nil, fmt.Errorf("%s is fitted on numbers, got %s", op, c.Type)
	}
	if len(out) == 0 {
		return nil, errors.New("no finite non-null value to fit on")
	}
	return out, nil
}
