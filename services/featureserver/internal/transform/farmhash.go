package transform

import (
	"encoding/binary"
	"math/bits"
)

// FarmHashFingerprint64 is FarmHash's Fingerprint64 (farmhashna::Hash64), the function
// behind TensorFlow's tf.strings.to_hash_bucket_fast, and so behind Keras' Hashing
// layer (salt=None) and StringLookup's out-of-vocabulary buckets. It is a port of the
// public reference definition (google/farmhash, farmhash.cc); Fingerprint64 is
// guaranteed stable across platforms and releases, which is what lets a Python copy of
// a transform agree with this one bit for bit.
func FarmHashFingerprint64(s []byte) uint64 {
	n := len(s)
	switch {
	case n <= 16:
		return fhLen0to16(s)
	case n <= 32:
		return fhLen17to32(s)
	case n <= 64:
		return fhLen33to64(s)
	}
	seed := uint64(81)
	x := seed
	y := seed*fhK1 + 113
	z := fhShiftMix(y*fhK2+113) * fhK2
	var v1, v2, w1, w2 uint64
	x = x*fhK2 + fh64(s, 0)

	end := ((n - 1) / 64) * 64
	last64 := end + ((n - 1) & 63) - 63
	for i := 0; ; {
		p := s[i:]
		x = bits.RotateLeft64(x+y+v1+fh64(p, 8), -37) * fhK1
		y = bits.RotateLeft64(y+v2+fh64(p, 48), -42) * fhK1
		x ^= w2
		y += v1 + fh64(p, 40)
		z = bits.RotateLeft64(z+w1, -33) * fhK1
		v1, v2 = fhWeak32(p, v2*fhK1, x+w1)
		w1, w2 = fhWeak32(p[32:], z+w2, y+fh64(p, 16))
		z, x = x, z
		i += 64
		if i == end {
			break
		}
	}
	mul := fhK1 + ((z & 0xff) << 1)
	p := s[last64:]
	w1 += uint64((n - 1) & 63)
	v1 += w1
	w1 += v1
	x = bits.RotateLeft64(x+y+v1+fh64(p, 8), -37) * mul
	y = bits.RotateLeft64(y+v2+fh64(p, 48), -42) * mul
	x ^= w2 * 9
	y += v1*9 + fh64(p, 40)
	z = bits.RotateLeft64(z+w1, -33) * mul
	v1, v2 = fhWeak32(p, v2*mul, x+w1)
	w1, w2 = fhWeak32(p[32:], z+w2, y+fh64(p, 16))
	z, x = x, z
	return fhLen16Mul(fhLen16Mul(v1, w1, mul)+fhShiftMix(y)*fhK0+z, fhLen16Mul(v2, w2, mul)+x, mul)
}

const (
	fhK0 uint64 = 0xc3a5c85c97cb3127
	fhK1 uint64 = 0xb492b66fbe98f273
	fhK2 uint64 = 0x9ae16a3b2f90404f
)

func fh64(s []byte, i int) uint64 { return binary.LittleEndian.Uint64(s[i:]) }
func fh32(s []byte, i int) uint64 { return uint64(binary.LittleEndian.Uint32(s[i:])) }

func fhShiftMix(v uint64) uint64 { return v ^ (v >> 47) }

func fhLen16Mul(u, v, mul uint64) uint64 {
	a := (u ^ v) * mul
	a ^= a >> 47
	b := (v ^ a) * mul
	b ^= b >> 47
	return b * mul
}

func fhLen0to16(s []byte) uint64 {
	n := uint64(len(s))
	if n >= 8 {
		mul := fhK2 + n*2
		a := fh64(s, 0) + fhK2
		b := fh64(s, int(n-8))
		c := bits.RotateLeft64(b, -37)*mul + a
		d := (bits.RotateLeft64(a, -25) + b) * mul
		return fhLen16Mul(c, d, mul)
	}
	if n >= 4 {
		mul := fhK2 + n*2
		a := fh32(s, 0)
		return fhLen16Mul(n+(a<<3), fh32(s, int(n-4)), mul)
	}
	if n > 0 {
		a, b, c := s[0], s[n>>1], s[n-1]
		y := uint32(a) + uint32(b)<<8
		z := uint32(n) + uint32(c)<<2
		return fhShiftMix(uint64(y)*fhK2^uint64(z)*fhK0) * fhK2
	}
	return fhK2
}

func fhLen17to32(s []byte) uint64 {
	n := len(s)
	mul := fhK2 + uint64(n)*2
	a := fh64(s, 0) * fhK1
	b := fh64(s, 8)
	c := fh64(s, n-8) * mul
	d := fh64(s, n-16) * fhK2
	return fhLen16Mul(bits.RotateLeft64(a+b, -43)+bits.RotateLeft64(c, -30)+d, a+bits.RotateLeft64(b+fhK2, -18)+c, mul)
}

func fhLen33to64(s []byte) uint64 {
	n := len(s)
	mul := fhK2 + uint64(n)*2
	a := fh64(s, 0) * fhK2
	b := fh64(s, 8)
	c := fh64(s, n-8) * mul
	d := fh64(s, n-16) * fhK2
	y := bits.RotateLeft64(a+b, -43) + bits.RotateLeft64(c, -30) + d
	z := fhLen16Mul(y, a+bits.RotateLeft64(b+fhK2, -18)+c, mul)
	e := fh64(s, 16) * mul
	f := fh64(s, 24)
	g := (y + fh64(s, n-32)) * mul
	h := (z + fh64(s, n-24)) * mul
	return fhLen16Mul(bits.RotateLeft64(e+f, -43)+bits.RotateLeft64(g, -30)+h, e+bits.RotateLeft64(f+a, -18)+g, mul)
}

// fhWeak32 is WeakHashLen32WithSeeds over s[0:32].
func fhWeak32(s []byte, a, b uint64) (uint64, uint64) {
	w, x, y, z := fh64(s, 0), fh64(s, 8), fh64(s, 16), fh64(s, 24)
	a += w
	b = bits.RotateLeft64(b+a+z, -21)
	c := a
	a += x
	a += y
	b += bits.RotateLeft64(a, -44)
	return a + z, b + c
}
