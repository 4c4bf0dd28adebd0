package training

import (
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow/array"
)

// keyColumn is one join-key column of the entity rows. It is shared by the
// views whose entity has that join key (user_stats and user_profile both join
// on user_id), so the rows are put in (key, time) order once for all of them.
type keyColumn struct {
	ent  *entities
	col  int  // index in the entity schema
	str  bool // utf8 keys; int64 otherwise
	uses atomic.Int32

	once     sync.Once
	numbered chan struct{} // closed once ids is complete
	done     chan struct{} // closed once order is built
	// ids numbers the distinct string keys in order of first appearance. A
	// view's rows are looked up in it and those of keys no entity row has are
	// dropped before sorting.
	ids *stringIDs
	// order is the rows with a non-null key in (key, time) order; pos are
	// row indexes.
	order keyTimeOrder
}

func newKeyColumn(e *entities, col int, str bool) *keyColumn {
	return &keyColumn{ent: e, col: col, str: str, numbered: make(chan struct{}), done: make(chan struct{})}
}

// prepare starts indexing the column in the background the first time it is
// called: the view calling it scans its table meanwhile, and looks its keys up
// in ids while the entity rows are being sorted. Every caller must wait.
func (k *keyColumn) prepare() {
	k.once.Do(func() {
		go func() {
			defer close(k.done)
			k.index()
		}()
	})
}

// waitIDs blocks until ids is complete.
func (k *keyColumn) waitIDs() { <-k.numbered }

// wait blocks until the index started by prepare is built.
func (k *keyColumn) wait() { <-k.done }

// release drops the index once the last of the views using it has joined.
func (k *keyColumn) release() {
	if k.uses.Add(-1) == 0 {
		k.order = keyTimeOrder{}
	}
}

func (k *keyColumn) index() {
	e := k.ent
	keys := make([]uint64, 0, e.rows)
	pos := make([]int32, 0, e.rows)
	if k.str {
		k.ids = newStringIDs()
	}
	for b, rec := range e.batches {
		base := int32(e.starts[b])
		col := rec.Column(k.col)
		if k.str {
			keys, pos = k.ids.appendIDs(keys, pos, col.(*array.String), base, true)
			continue
		}
		nulls := col.NullN() > 0
		for i, v := range col.(*array.Int64).Int64Values() {
			if nulls && col.IsNull(i) {
				continue
			}
			keys = append(keys, sortKey(v))
			pos = append(pos, base+int32(i))
		}
	}
	close(k.numbered)
	k.order = sortByKeyTime(keys, pos, e.times)
}
