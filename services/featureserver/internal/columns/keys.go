package columns

import (
	"fmt"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// KeyStrings returns the canonical string of every join key in col: the decimal
// form of an integer key, a string key as is. Those strings name entities in the
// online store's keys, in lookups and in change sets, so every reader of a key
// column goes through here.
//
// It accepts the Arrow types a join key column decodes to, whether read through
// the canonical scan (int64, string) or straight from a data file written by
// another engine (int32; large_string, as pyarrow writes; binary, a byte array
// without the string annotation). A null key, which a table's schema forbids,
// yields the empty string. Any other type is an error.
func KeyStrings(col arrow.Array) ([]string, error) {
	out := make([]string, col.Len())
	switch c := col.(type) {
	case *array.Int64:
		for i := range out {
			if c.IsValid(i) {
				out[i] = strconv.FormatInt(c.Value(i), 10)
			}
		}
	case *array.Int32:
		for i := range out {
			if c.IsValid(i) {
				out[i] = strconv.FormatInt(int64(c.Value(i)), 10)
			}
		}
	case *array.String:
		for i := range out {
			out[i] = c.Value(i)
		}
	case *array.LargeString:
		for i := range out {
			out[i] = c.Value(i)
		}
	case *array.Binary:
		for i := range out {
			out[i] = string(c.Value(i))
		}
	default:
		return nil, fmt.Errorf("join key column has type %s, want an integer or a string", col.DataType())
	}
	return out, nil
}
