package training

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSortByKeyTime compares sortByKeyTime with a stable comparison sort on
// key distributions that take each of its paths: presorted (no sort), narrow
// keys (packed radix sort, one pass or several), keys across the int64 range
// (wide radix sort), long runs of one key (a comparison sort of times) and rows
// left out (positions not 0..n-1).
func TestSortByKeyTime(t *testing.T) {
	type gen func(rng *rand.Rand, i int) int64
	keyGens := map[string]gen{
		"narrow":   func(rng *rand.Rand, _ int) int64 { return rng.Int64N(6) },
		"21 bits":  func(rng *rand.Rand, _ int) int64 { return rng.Int64N(1 << 21) },
		"negative": func(rng *rand.Rand, _ int) int64 { return -rng.Int64N(5000) },
		"int64": func(rng *rand.Rand, _ int) int64 {
			return []int64{math.MinInt64, math.MaxInt64, -1, 0, 1, int64(rng.Uint64())}[rng.IntN(6)]
		},
		"one key":   func(*rand.Rand, int) int64 { return 42 },
		"ascending": func(_ *rand.Rand, i int) int64 { return int64(i / 3) },
	}
	timeGens := map[string]gen{
		"ties":      func(rng *rand.Rand, _ int) int64 { return rng.Int64N(4) },
		"random":    func(rng *rand.Rand, _ int) int64 { return rng.Int64() - math.MaxInt64/2 },
		"ascending": func(_ *rand.Rand, i int) int64 { return int64(i) },
	}
	for kname, keyOf := range keyGens {
		for tname, timeOf := range timeGens {
			for _, n := range []int{0, 1, 2, 30, 3000} {
				t.Run(fmt.Sprintf("%s/%s/%d", kname, tname, n), func(t *testing.T) {
					rng := rand.New(rand.NewPCG(uint64(n), 1))
					times := make([]int64, n)
					var keys []uint64
					var pos []int32
					for i := range n {
						times[i] = timeOf(rng, i)
						if n > 2 && i%7 == 3 {
							continue // a row left out: a null key, or a string no entity has
						}
						keys = append(keys, sortKey(keyOf(rng, i)))
						pos = append(pos, int32(i))
					}
					type row struct {
						k uint64
						t int64
						p int32
					}
					want := make([]row, len(keys))
					for i := range keys {
						want[i] = row{keys[i], times[pos[i]], pos[i]}
					}
					slices.SortStableFunc(want, func(a, b row) int {
						return cmp.Or(cmp.Compare(a.k, b.k), cmp.Compare(a.t, b.t))
					})
					got := sortByKeyTime(keys, pos, times)
					if len(got.keys) != len(want) || len(got.times) != len(want) || len(got.pos) != len(want) {
						t.Fatalf("got %d/%d/%d rows, want %d", len(got.keys), len(got.times), len(got.pos), len(want))
					}
					for i, w := range want {
						if g := (row{got.keys[i], got.times[i], got.pos[i]}); g != w {
							t.Fatalf("row %d: got %+v, want %+v", i, g, w)
						}
					}
				})
			}
		}
	}
}

// TestMergeMatchesBruteForce checks sortByKeyTime and merge, the join of one
// view, against the definition on random rows with ties, TTL boundaries, keys
// on one side only and the extremes of int64.
func TestMergeMatchesBruteForce(t *testing.T) {
	for seed := range uint64(50) {
		rng := rand.New(rand.NewPCG(seed, 3))
		keys := []int64{math.MinInt64, -3, 0, 1, 2, 7, math.MaxInt64}[:2+rng.IntN(6)]
		ttl := []int64{0, 1, 5}[rng.IntN(3)]
		nv, ne := rng.IntN(60), rng.IntN(60)
		vkey, vtime := make([]int64, nv), make([]int64, nv)
		var vk []uint64
		var vp []int32
		for i := range nv {
			vkey[i], vtime[i] = keys[rng.IntN(len(keys))], rng.Int64N(12)
			vk = append(vk, sortKey(vkey[i]))
			vp = append(vp, int32(i))
		}
		ekey, etime := make([]int64, ne), make([]int64, ne)
		var ek []uint64
		var ep []int32
		for i := range ne {
			ekey[i], etime[i] = keys[rng.IntN(len(keys))], rng.Int64N(16)-2
			ek = append(ek, sortKey(ekey[i]))
			ep = append(ep, int32(i))
		}
		match := make([]int32, ne)
		for i := range match {
			match[i] = -1
		}
		merge(sortByKeyTime(ek, ep, etime), sortByKeyTime(vk, vp, vtime), ttl, match)
		for r := range ne {
			want := int32(-1)
			for i := range nv {
				if vkey[i] != ekey[r] || vtime[i] > etime[r] || ttl > 0 && vtime[i] <= etime[r]-ttl {
					continue
				}
				if want < 0 || vtime[i] >= vtime[want] {
					want = int32(i)
				}
			}
			if match[r] != want {
				t.Fatalf("seed %d ttl %d: entity row %d (key %d, t %d) joined row %d, want %d", seed, ttl, r, ekey[r], etime[r], match[r], want)
			}
		}
	}
}
