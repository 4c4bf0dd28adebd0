package offline

import (
	"math/bits"
	"sync"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// poolAllocator is an Arrow allocator that recycles buffers through sync.Pools
// by power-of-two size class. A point lookup decodes a whole row group into
// buffers it drops a millisecond later; with the Go allocator that garbage
// costs as much CPU in the collector as the decoding itself. Buffers are zeroed
// and 64-byte aligned like the Go allocator's. A buffer never freed (a record
// not released) is simply left to the garbage collector.
type poolAllocator struct {
	pools [poolMaxClass + 1]sync.Pool
}

const (
	poolMinClass = 12 // 4 KiB: smaller buffers come from the Go allocator
	poolMaxClass = 26 // 64 MiB: larger ones too
	poolAlign    = 64
)

var lookupAllocator = &poolAllocator{}

// poisonFreed makes Free scribble over buffers before recycling them, so a
// read after free shows up as wrong values in tests.
var poisonFreed = false

var goAllocator = memory.NewGoAllocator()

// class returns the size class of a request, or -1 when it is not pooled.
func poolClass(size int) int {
	if size <= 1<<poolMinClass/2 || size > 1<<poolMaxClass {
		return -1
	}
	c := bits.Len(uint(size - 1)) // smallest class with 1<<c >= size
	return max(c, poolMinClass)
}

func (p *poolAllocator) Allocate(size int) []byte {
	c := poolClass(size)
	if c < 0 {
		return goAllocator.Allocate(size)
	}
	if b, ok := p.pools[c].Get().(*[]byte); ok {
		buf := (*b)[:size]
		clear(buf)
		return buf
	}
	raw := make([]byte, 1<<c+poolAlign)
	off := 0
	if rem := int(uintptrOf(raw) % poolAlign); rem != 0 {
		off = poolAlign - rem
	}
	return raw[off : off+size : off+1<<c]
}

func (p *poolAllocator) Reallocate(size int, b []byte) []byte {
	if size <= cap(b) && (poolClass(cap(b)) >= 0 || poolClass(size) < 0) {
		old := len(b)
		b = b[:size]
		if size > old {
			clear(b[old:])
		}
		return b
	}
	nb := p.Allocate(size)
	copy(nb, b)
	p.Free(b)
	return nb
}

func (p *poolAllocator) Free(b []byte) {
	c := cap(b)
	if c == 0 || c&(c-1) != 0 || c < 1<<poolMinClass || c > 1<<poolMaxClass {
		// Not one of ours (the Go allocator's, or sliced): let the GC have it.
		return
	}
	class := bits.Len(uint(c)) - 1
	b = b[:c]
	if poisonFreed {
		for i := range b {
			b[i] = 0xAB
		}
	}
	p.pools[class].Put(&b)
}

func uintptrOf(b []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(b))) }
