package transform

import (
	"fmt"
	"strconv"
)

// HashFarmFingerprint64 is the only hash function today: FarmHash Fingerprint64, which
// Keras' Hashing layer reproduces.
const HashFarmFingerprint64 = "farmhash_fingerprint64"

// hash {bins, function: farmhash_fingerprint64}: string → int64 in [0, bins),
// Fingerprint64(UTF-8 bytes) mod bins (Keras Hashing, salt=None). int64 input is
// hashed as its decimal string, as Keras does.
type hashOp struct{}

func init() { register(hashOp{}) }

func (hashOp) Name() string { return "hash" }

func (hashOp) Doc() string {
	return "string (or int64 as decimal) → Fingerprint64 mod bins, as int64 (Keras Hashing)."
}

func (hashOp) Params() []Param {
	return []Param{
		{Name: "bins", Kind: Integer, Required: true, Minimum: Float64(1)},
		{Name: "function", Kind: String, Required: true, Enum: []string{HashFarmFingerprint64}},
	}
}

func (hashOp) Compile(a Args, in Shape) (Kernel, Shape, error) {
	if in.Type != TypeString && in.Type != TypeInt64 {
		return nil, Shape{}, fmt.Errorf("hash needs a string or int64 input, got %s", in.Type)
	}
	bins, fn := a.Int("bins"), a.Str("function")
	if bins < 1 {
		return nil, Shape{}, fmt.Errorf("bins must be ≥ 1, got %d", bins)
	}
	if fn != HashFarmFingerprint64 {
		return nil, Shape{}, fmt.Errorf("function %q is not supported (use %s)", fn, HashFarmFingerprint64)
	}
	return hash{uint64(bins)}, Shape{Type: TypeInt64, Card: bins}, nil
}

type hash struct{ bins uint64 }

func (k hash) Apply(c Column) Column {
	var out []int64
	if c.Type == TypeString {
		out = make([]int64, len(c.Strs))
		for i, v := range c.Strs {
			if !c.IsNull(i) {
				out[i] = int64(FarmHashFingerprint64([]byte(v)) % k.bins)
			}
		}
	} else {
		out = make([]int64, len(c.Ints))
		var buf []byte
		for i, v := range c.Ints {
			if !c.IsNull(i) {
				buf = strconv.AppendInt(buf[:0], v, 10)
				out[i] = int64(FarmHashFingerprint64(buf) % k.bins)
			}
		}
	}
	return Column{Type: TypeInt64, Ints: out, Null: c.Null}
}
