package training

import (
	"hash/maphash"

	"github.com/apache/arrow-go/v18/arrow/array"
)

// stringIDs numbers distinct strings 0, 1, 2... in order of first appearance,
// so that string join keys sort and merge as integers.
//
// It is a map[string]int64 specialised for a million lookups of short keys in
// a row: open addressing over one slice of packed (hash tag, id) words, with
// the keys' bytes copied into one arena. A Go map's slots would point at key
// strings aliasing the Arrow buffers they came from, so that every lookup
// touches a slot and then, at random, a buffer; here the arena is small enough
// to stay in cache, and appendIDs overlaps the slots' cache misses.
//
// Adds and lookups must not overlap: keyColumn adds every key, then views look
// theirs up concurrently.
type stringIDs struct {
	seed  maphash.Seed
	slots []uint64 // 0: empty; else hash>>32 in the high half, id+1 in the low
	data  []byte   // the keys' bytes in id order
	ends  []int    // key id is data[ends[id-1]:ends[id]] (from 0 for id 0)
}

func newStringIDs() *stringIDs {
	return &stringIDs{seed: maphash.MakeSeed(), slots: make([]uint64, 1024)}
}

// key returns the bytes of key id.
func (d *stringIDs) key(id int) []byte {
	start := 0
	if id > 0 {
		start = d.ends[id-1]
	}
	return d.data[start:d.ends[id]]
}

// find returns the slot of s (of hash h) and its word: 0 when s is absent, the
// slot then being where to put it.
func (d *stringIDs) find(s string, h uint64) (slot int, word uint64) {
	mask := len(d.slots) - 1
	tag := h >> 32
	for i := int(h) & mask; ; i = (i + 1) & mask {
		w := d.slots[i]
		if w == 0 || w>>32 == tag && string(d.key(int(uint32(w))-1)) == s {
			return i, w
		}
	}
}

// match returns the id of s when slot word w (read ahead, perhaps before
// later adds) holds it, or -1.
func (d *stringIDs) match(s string, h, w uint64) int64 {
	if w != 0 && w>>32 == h>>32 && string(d.key(int(uint32(w))-1)) == s {
		return int64(uint32(w)) - 1
	}
	return -1
}

// lookup returns the id of s (of hash h), or -1 when it has none.
func (d *stringIDs) lookup(s string, h uint64) int64 {
	_, w := d.find(s, h)
	return int64(uint32(w)) - 1
}

// add returns the id of s (of hash h), giving it the next one if it has none.
func (d *stringIDs) add(s string, h uint64) int64 {
	i, w := d.find(s, h)
	if w != 0 {
		return int64(uint32(w)) - 1
	}
	id := len(d.ends)
	d.data = append(d.data, s...)
	d.ends = append(d.ends, len(d.data))
	d.slots[i] = h>>32<<32 | uint64(id+1)
	// At most half full, so probe runs stay short.
	if 2*len(d.ends) > len(d.slots) {
		d.grow()
	}
	return int64(id)
}

func (d *stringIDs) grow() {
	d.slots = make([]uint64, 2*len(d.slots))
	mask := len(d.slots) - 1
	for id := range d.ends {
		h := maphash.Bytes(d.seed, d.key(id))
		i := int(h) & mask
		for d.slots[i] != 0 {
			i = (i + 1) & mask
		}
		d.slots[i] = h>>32<<32 | uint64(id+1)
	}
}

// idBatch is how many keys appendIDs hashes before looking them up.
const idBatch = 32

// appendIDs appends the sort key of the id of each non-null row of col, and
// the row's position (base + its index), to keys and pos. With add, keys
// without an id get the next one; otherwise their rows are left out.
func (d *stringIDs) appendIDs(keys []uint64, pos []int32, col *array.String, base int32, add bool) ([]uint64, []int32) {
	var (
		strs  [idBatch]string
		rows  [idBatch]int32
		hs    [idBatch]uint64
		words [idBatch]uint64
	)
	nulls := col.NullN() > 0
	for lo := 0; lo < col.Len(); lo += idBatch {
		m := 0
		for i := lo; i < min(lo+idBatch, col.Len()); i++ {
			if nulls && col.IsNull(i) {
				continue
			}
			strs[m], rows[m] = col.Value(i), int32(i)
			hs[m] = maphash.String(d.seed, strs[m])
			m++
		}
		// Read the batch's first slots before the lookups: their cache
		// misses, independent of one another, overlap, where lookup after
		// lookup they would follow one another. This halves the time of a
		// million lookups of random keys. Most keys are in their first slot;
		// the others (and new keys) are probed for again.
		mask := uint64(len(d.slots) - 1)
		for x, h := range hs[:m] {
			words[x] = d.slots[h&mask]
		}
		for x := range m {
			id := d.match(strs[x], hs[x], words[x])
			if id < 0 && add {
				id = d.add(strs[x], hs[x])
			} else if id < 0 && words[x] != 0 {
				id = d.lookup(strs[x], hs[x])
			}
			if id < 0 {
				continue
			}
			keys = append(keys, sortKey(id))
			pos = append(pos, base+rows[x])
		}
	}
	return keys, pos
}
