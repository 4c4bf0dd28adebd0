package transform

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
)

// lookup {vocabulary, oov_buckets}: string → int64 (Keras StringLookup with
// num_oov_indices=oov_buckets, mask_token=None). Out-of-vocabulary strings take
// indices 0..oov_buckets-1, chosen by FarmHash Fingerprint64(s) mod oov_buckets;
// vocabulary[i] takes index oov_buckets+i. Matching is byte-exact on UTF-8: no case
// folding, trimming or Unicode normalization, so "É" (U+00C9) and "É" (E + U+0301)
// differ. The empty string is an ordinary string: in the vocabulary if listed,
// otherwise out of vocabulary.
//
// Fitted: the vocabulary, the distinct non-null values by descending count, ties in
// byte order, at most max_tokens of them. oov_buckets stays a choice of the spec.
type lookupOp struct{}

func init() { register(lookupOp{}) }

func (lookupOp) Name() string { return "lookup" }

func (lookupOp) Doc() string {
	return "string → int64: out-of-vocabulary 0..oov_buckets-1, vocabulary[i] → oov_buckets + i."
}

func (lookupOp) Params() []Param {
	return []Param{
		{Name: "vocabulary", Kind: Strings, Required: true, Fitted: true, MinItems: 1, UniqueItems: true},
		{Name: "oov_buckets", Kind: Integer, Default: 1, Minimum: Float64(1)},
	}
}

func (lookupOp) Compile(a Args, in Shape) (Kernel, Shape, error) {
	if in.Type != TypeString {
		return nil, Shape{}, fmt.Errorf("lookup needs a string input, got %s", in.Type)
	}
	vocab, oov := a.Strs("vocabulary"), a.Int("oov_buckets")
	if len(vocab) == 0 {
		return nil, Shape{}, errors.New("vocabulary must not be empty")
	}
	if oov < 1 {
		return nil, Shape{}, fmt.Errorf("oov_buckets must be ≥ 1, got %d", oov)
	}
	index := make(map[string]int64, len(vocab))
	for i, v := range vocab {
		if _, dup := index[v]; dup {
			return nil, Shape{}, fmt.Errorf("vocabulary lists %q twice", v)
		}
		index[v] = int64(oov + i)
	}
	return lookup{index: index, oov: oov}, Shape{Type: TypeInt64, Card: oov + len(vocab)}, nil
}

func (lookupOp) FitOptions() []Param {
	return []Param{{
		Name: "max_tokens", Kind: Integer, Minimum: Float64(1),
		Doc: "keep only the most frequent values (ties by byte order); default every value seen",
	}}
}

func (lookupOp) Placeholder() Args { return Args{"vocabulary": []string{""}} }

func (lookupOp) Fit(c Column, opts Args) (Args, int, error) {
	if c.Type != TypeString {
		return nil, 0, fmt.Errorf("lookup is fitted on strings, got %s", c.Type)
	}
	counts := map[string]int{}
	n := 0
	for i, v := range c.Strs {
		if !c.IsNull(i) {
			counts[v]++
			n++
		}
	}
	if n == 0 {
		return nil, 0, errors.New("no non-null value to build a vocabulary from")
	}
	vocab := make([]string, 0, len(counts))
	for v := range counts {
		vocab = append(vocab, v)
	}
	slices.SortFunc(vocab, func(a, b string) int {
		if c := cmp.Compare(counts[b], counts[a]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	if max := opts.Int("max_tokens"); max > 0 && len(vocab) > max {
		vocab = vocab[:max]
	}
	return Args{"vocabulary": vocab}, n, nil
}

type lookup struct {
	index map[string]int64
	oov   int
}

func (k lookup) Apply(c Column) Column {
	out := make([]int64, len(c.Strs))
	for i, v := range c.Strs {
		if c.IsNull(i) {
			continue
		}
		if idx, ok := k.index[v]; ok {
			out[i] = idx
		} else if k.oov > 1 {
			out[i] = int64(FarmHashFingerprint64([]byte(v)) % uint64(k.oov))
		}
	}
	return Column{Type: TypeInt64, Ints: out, Null: c.Null}
}
