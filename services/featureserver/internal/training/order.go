package training

import (
	"cmp"
	"math/bits"
	"slices"
)

// Both sides of the join are put in (key, time) order: the entity rows once per
// join-key column, each view's rows once per request. The join is then one
// forward pass over both (see merge), which reads memory in order instead of
// probing a hash table and a group at random for every entity row.
//
// Keys are held as uint64 whose unsigned order is the order of the int64 keys
// (the sign bit flipped, see sortKey); string keys are first mapped to dense
// int64 ids (see keyColumn), so the same code sorts and merges both.

// sortKey maps an int64 join key (or string key id) to a uint64 with the same order.
func sortKey(k int64) uint64 { return uint64(k) ^ (1 << 63) }

// keyTimeOrder is a set of rows in (key, time, position) order: the i-th has
// key keys[i], event time times[i] (microseconds) and position pos[i] (an
// entity row index, or a view row's scan position).
type keyTimeOrder struct {
	keys  []uint64
	times []int64
	pos   []int32
}

// sortByKeyTime puts rows in (key, time, position) order. keys[i] is the key of
// the row at position pos[i], times holds the event time of every position, and
// pos must be ascending: then rows with equal key and time stay in position
// order, which is how ties between a view's rows resolve. keys and pos are
// reordered in place or in scratch space of the same size; the result holds
// whichever ends up sorted, and may share times.
func sortByKeyTime(keys []uint64, pos []int32, times []int64) keyTimeOrder {
	n := len(keys)
	if n == 0 {
		return keyTimeOrder{}
	}
	// Tables are written sorted by key within each file (offline.Ingest): a
	// one-file snapshot needs no sorting at all, only the check.
	lo, hi, sorted := keys[0], keys[0], true
	for i := 1; i < n; i++ {
		k := keys[i]
		if k < keys[i-1] {
			sorted = false
		}
		lo, hi = min(lo, k), max(hi, k)
	}
	switch {
	case sorted && pos[0] == 0 && int(pos[n-1]) == n-1 && timeSorted(keys, times):
		// Every row, in scan order, in (key, time) order already: a one-file
		// snapshot (Ingest sorts by key and time). Its times are the order's.
		return keyTimeOrder{keys: keys, times: times[:n], pos: pos}
	case !sorted:
		// Radix-sort only the bits in which keys differ: ids of 100,000 keys
		// take two passes, whatever the keys' values.
		for i := range keys {
			keys[i] -= lo
		}
		if nbits := bits.Len64(hi - lo); nbits <= 32 {
			radixSortPacked(keys, pos, nbits)
		} else {
			keys, pos = radixSort(keys, pos, nbits)
		}
		for i := range keys {
			keys[i] += lo
		}
	}
	ts := make([]int64, n)
	for i, p := range pos {
		ts[i] = times[p]
	}
	// Within each key, order by time. Runs are short (entities have few rows
	// each) and often sorted already (within a file, Ingest sorts by time too).
	for start := 0; start < n; {
		end := start + 1
		for end < n && keys[end] == keys[start] {
			end++
		}
		if end-start > 1 {
			sortByTime(ts[start:end], pos[start:end])
		}
		start = end
	}
	return keyTimeOrder{keys: keys, times: ts, pos: pos}
}

// timeSorted reports whether times (of rows in key order) ascend within each key.
func timeSorted(keys []uint64, times []int64) bool {
	times = times[:len(keys)]
	for i := 1; i < len(keys); i++ {
		if times[i] < times[i-1] && keys[i] == keys[i-1] {
			return false
		}
	}
	return true
}

// insertionMax is the longest run sortByTime sorts by insertion.
const insertionMax = 24

// sortByTime sorts one key's rows by (time, position); ts and pos are parallel.
func sortByTime(ts []int64, pos []int32) {
	if slices.IsSorted(ts) {
		// pos is ascending within a key (radix sort is stable), so equal
		// times are already in position order.
		return
	}
	if len(ts) <= insertionMax {
		// Stable: equal times keep their (ascending) positions.
		for i := 1; i < len(ts); i++ {
			t, p := ts[i], pos[i]
			j := i
			for ; j > 0 && ts[j-1] > t; j-- {
				ts[j], pos[j] = ts[j-1], pos[j-1]
			}
			ts[j], pos[j] = t, p
		}
		return
	}
	type row struct {
		t int64
		p int32
	}
	rows := make([]row, len(ts))
	for i := range rows {
		rows[i] = row{ts[i], pos[i]}
	}
	slices.SortFunc(rows, func(a, b row) int {
		if c := cmp.Compare(a.t, b.t); c != 0 {
			return c
		}
		return cmp.Compare(a.p, b.p)
	})
	for i, r := range rows {
		ts[i], pos[i] = r.t, r.p
	}
}

// radixDigitMax is the widest digit radixSort uses: 2,048 buckets, whose
// counters and write positions stay in the L1 and L2 caches.
const radixDigitMax = 11

// radixSort is a stable LSD radix sort of keys (all < 1<<nbits), moving pos
// along; radixSortPacked serves keys of up to 32 bits. It returns the sorted slices, which are either the arguments or
// scratch space it allocated.
func radixSort(keys []uint64, pos []int32, nbits int) ([]uint64, []int32) {
	n := len(keys)
	if nbits == 0 || n < 2 {
		return keys, pos
	}
	passes := (nbits + radixDigitMax - 1) / radixDigitMax
	width := uint((nbits + passes - 1) / passes)
	buckets := 1 << width
	mask := uint64(buckets - 1)
	counts := make([]int, passes*buckets)
	for _, k := range keys {
		for p := range passes {
			counts[p*buckets+int(k>>(uint(p)*width)&mask)]++
		}
	}
	kbuf, pbuf := make([]uint64, n), make([]int32, n)
	for p := range passes {
		c := counts[p*buckets : (p+1)*buckets]
		shift := uint(p) * width
		if c[keys[0]>>shift&mask] == n {
			continue // every key has the same digit here
		}
		sum := 0
		for b, x := range c {
			c[b] = sum
			sum += x
		}
		for i, k := range keys {
			d := k >> shift & mask
			at := c[d]
			c[d]++
			kbuf[at] = k
			pbuf[at] = pos[i]
		}
		keys, kbuf = kbuf, keys
		pos, pbuf = pbuf, pos
	}
	return keys, pos
}

// merge sets match[e.pos[i]] to the scan position of the view row joined with
// entity row e.pos[i]: the last row of v (in key, time, position order) with the
// same key and a time at or before the entity row's, unless it is ttl or more
// older (ttl > 0). Both are in (key, time) order, so one forward pass serves
// every entity row. Rows without a match keep their match value.
func merge(e, v keyTimeOrder, ttl int64, match []int32) {
	vk, vt, vp := v.keys, v.times, v.pos[:len(v.keys)]
	vt = vt[:len(vk)]
	et, ep := e.times[:len(e.keys)], e.pos[:len(e.keys)]
	at := 0 // first view row after (k, t): the candidate is at-1
	for i, k := range e.keys {
		t := et[i]
		for at < len(vk) && (vk[at] < k || vk[at] == k && vt[at] <= t) {
			at++
		}
		if at == 0 || vk[at-1] != k {
			continue // no row of this key at or before t
		}
		if ttl > 0 && vt[at-1] <= t-ttl {
			continue // expired
		}
		match[ep[i]] = vp[at-1]
	}
}

// radixSortPacked is radixSort for keys of at most 32 bits: each key and its
// position are packed into one word, so a pass moves 8 bytes a row instead of
// 12 and writes one stream per bucket instead of two. The result is in keys and pos.
func radixSortPacked(keys []uint64, pos []int32, nbits int) {
	n := len(keys)
	pos = pos[:n]
	for i := range keys {
		keys[i] = keys[i]<<32 | uint64(uint32(pos[i]))
	}
	passes := (nbits + radixDigitMax - 1) / radixDigitMax
	width := uint((nbits + passes - 1) / passes)
	buckets := 1 << width
	mask := uint64(buckets - 1)
	counts := make([]int, passes*buckets)
	for _, k := range keys {
		k >>= 32
		for p := range passes {
			counts[p*buckets+int(k>>(uint(p)*width)&mask)]++
		}
	}
	src, dst := keys, make([]uint64, n)
	for p := range passes {
		c := counts[p*buckets : (p+1)*buckets]
		shift := 32 + uint(p)*width
		if c[src[0]>>shift&mask] == n {
			continue
		}
		sum := 0
		for b, x := range c {
			c[b] = sum
			sum += x
		}
		for _, k := range src {
			d := k >> shift & mask
			dst[c[d]] = k
			c[d]++
		}
		src, dst = dst, src
	}
	for i, k := range src {
		keys[i], pos[i] = k>>32, int32(uint32(k))
	}
}
