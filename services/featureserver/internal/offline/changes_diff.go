package offline

import (
	"hash/maphash"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"floe.dev/floe/services/featureserver/internal/columns"
)

// rowDiff accumulates, per key, an order-independent fingerprint of a multiset
// of rows: sums of two independent 64-bit row hashes and the row count, added
// for one side and subtracted for the other. Keys whose three sums come back to
// zero had the same rows on both sides (up to a 2^-128 chance of collision).
type rowDiff struct {
	seed1, seed2 maphash.Seed
	acc          map[string]*[3]uint64
}

func (d *rowDiff) add(sign int) func(arrow.RecordBatch) error {
	return func(rec arrow.RecordBatch) error {
		ids, err := columns.KeyStrings(rec.Column(0))
		if err != nil {
			return err
		}
		var h1, h2 maphash.Hash
		h1.SetSeed(d.seed1)
		h2.SetSeed(d.seed2)
		writers := make([]func(*maphash.Hash, int), rec.NumCols())
		for j, col := range rec.Columns() {
			writers[j] = valueWriter(col)
		}
		for i, id := range ids {
			h1.Reset()
			h2.Reset()
			for _, w := range writers {
				w(&h1, i)
				w(&h2, i)
			}
			acc := d.acc[id]
			if acc == nil {
				acc = new([3]uint64)
				d.acc[id] = acc
			}
			if sign > 0 {
				acc[0] += h1.Sum64()
				acc[1] += h2.Sum64()
				acc[2]++
			} else {
				acc[0] -= h1.Sum64()
				acc[1] -= h2.Sum64()
				acc[2]--
			}
		}
		return nil
	}
}

// valueWriter returns a function writing row i of a canonical column to a hash,
// with a null marker and length prefixes so distinct rows hash apart.
func valueWriter(col arrow.Array) func(*maphash.Hash, int) {
	u64 := func(h *maphash.Hash, v uint64) {
		var b [8]byte
		for k := range b {
			b[k] = byte(v >> (8 * k))
		}
		_, _ = h.Write(b[:])
	}
	null := func(h *maphash.Hash, i int) bool {
		if col.IsNull(i) {
			_ = h.WriteByte(0)
			return true
		}
		_ = h.WriteByte(1)
		return false
	}
	switch c := col.(type) {
	case *array.Int64:
		return func(h *maphash.Hash, i int) {
			if !null(h, i) {
				u64(h, uint64(c.Value(i)))
			}
		}
	case *array.Float64:
		return func(h *maphash.Hash, i int) {
			if !null(h, i) {
				u64(h, math.Float64bits(c.Value(i)))
			}
		}
	case *array.Timestamp:
		return func(h *maphash.Hash, i int) {
			if !null(h, i) {
				u64(h, uint64(c.Value(i)))
			}
		}
	case *array.Boolean:
		return func(h *maphash.Hash, i int) {
			if !null(h, i) {
				if c.Value(i) {
					_ = h.WriteByte(1)
				} else {
					_ = h.WriteByte(0)
				}
			}
		}
	case *array.String:
		return func(h *maphash.Hash, i int) {
			if !null(h, i) {
				s := c.Value(i)
				u64(h, uint64(len(s)))
				_, _ = h.WriteString(s)
			}
		}
	case *array.List:
		vals, _ := c.ListValues().(*array.Float32)
		return func(h *maphash.Hash, i int) {
			if !null(h, i) {
				start, end := c.ValueOffsets(i)
				u64(h, uint64(end-start))
				for j := start; j < end; j++ {
					if vals == nil || vals.IsNull(int(j)) {
						_ = h.WriteByte(0)
						continue
					}
					_ = h.WriteByte(1)
					u64(h, uint64(math.Float32bits(vals.Value(int(j)))))
				}
			}
		}
	}
	// Not a canonical type: hash nothing but nullness, which only makes the
	// diff more inclusive, never less.
	return func(h *maphash.Hash, i int) { null(h, i) }
}
