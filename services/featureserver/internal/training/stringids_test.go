package training

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestStringIDs checks stringIDs against a map through appendIDs: ids in order
// of first appearance across batches and growth, the empty string and long
// keys as keys, nulls left out, and absent keys dropped by lookups.
func TestStringIDs(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	key := func() string {
		switch rng.IntN(4) {
		case 0:
			return ""
		case 1:
			return strings.Repeat("k", rng.IntN(40)) + fmt.Sprint(rng.IntN(50))
		default:
			return fmt.Sprint("m", rng.IntN(5000))
		}
	}
	build := func(n int, nulls bool) *array.String {
		b := array.NewStringBuilder(memory.DefaultAllocator)
		defer b.Release()
		for range n {
			if nulls && rng.IntN(10) == 0 {
				b.AppendNull()
			} else {
				b.Append(key())
			}
		}
		return b.NewStringArray()
	}
	d := newStringIDs()
	want := map[string]int64{}
	base := int32(0)
	for batch := range 5 {
		col := build(3000, batch%2 == 0)
		keys, pos := d.appendIDs(nil, nil, col, base, true)
		i := 0
		for r := range col.Len() {
			if col.IsNull(r) {
				continue
			}
			s := col.Value(r)
			id, ok := want[s]
			if !ok {
				id = int64(len(want))
				want[s] = id
			}
			if keys[i] != sortKey(id) || pos[i] != base+int32(r) {
				t.Fatalf("batch %d row %d (%q): got id key %x at %d, want id %d at %d", batch, r, s, keys[i], pos[i], id, base+int32(r))
			}
			i++
		}
		if i != len(keys) {
			t.Fatalf("batch %d: %d ids for %d non-null rows", batch, len(keys), i)
		}
		base += int32(col.Len())
		col.Release()
	}
	probe := build(5000, true)
	defer probe.Release()
	keys, pos := d.appendIDs(nil, nil, probe, 0, false)
	i := 0
	for r := range probe.Len() {
		id, ok := want[probe.Value(r)]
		if probe.IsNull(r) || !ok {
			continue
		}
		if keys[i] != sortKey(id) || pos[i] != int32(r) {
			t.Fatalf("lookup row %d: got %x at %d, want id %d", r, keys[i], pos[i], id)
		}
		i++
	}
	if i != len(keys) {
		t.Fatalf("lookups: %d ids, want %d", len(keys), i)
	}
}
