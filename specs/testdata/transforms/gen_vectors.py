#!/usr/bin/env python3
"""Writes the shared transform vectors (*.json in this directory).

Expected outputs are computed here, in plain Python (math, bisect, and pyfarmhash for
FarmHash Fingerprint64), independently of the Go implementation they check. The Go
tests (services/featureserver/internal/registry/vectors_test.go) and the Python SDK
tests (through the generated Keras layers) assert every file.

Format of a file: {op, about, tolerance, cases: [{name, transform, input, output}]};
input and output are {type, values} (float_vector outputs add dim and give each value
as a list). A value is null for a null, and a float may be the string "NaN",
"Infinity" or "-Infinity". transform is written exactly as in a spec.

Run: python3 gen_vectors.py [op ...]   (all files, or only those of the ops named;
needs pyfarmhash only to regenerate hash/lookup files)
"""
import bisect
import json
import math
import os
import sys


def fingerprint64(s):
    import farmhash  # pyfarmhash; only the hash and lookup files need it

    return farmhash.fingerprint64(s.encode("utf-8"))

TOL = {
    "rtol": 1e-6,
    "atol": 1e-6,
    "rule": "double and float_vector values: |got - want| <= atol + rtol * |want|; "
    "NaN matches only NaN, +Infinity/-Infinity match exactly; int64, string and bool "
    "values and null positions must match exactly.",
}
NAN, INF = float("nan"), float("inf")


def enc(v):
    if v is None:
        return None
    if isinstance(v, float):
        if math.isnan(v):
            return "NaN"
        if math.isinf(v):
            return "Infinity" if v > 0 else "-Infinity"
    return v


def col(t, values, dim=None):
    out = {"type": t, "values": [enc(v) if not isinstance(v, list) else v for v in values]}
    if dim:
        out["dim"] = dim
    return out


def case(name, transform, in_type, xs, out_type, f, dim=None):
    ys = [None if x is None else f(x) for x in xs]
    return {"name": name, "transform": transform, "input": col(in_type, xs), "output": col(out_type, ys, dim)}


EDGE = [0.0, 1.5, -2.25, 1e300, -1e-300, NAN, INF, -INF, None]
INTS = [0, 7, -3, 9007199254740993, None]


def standardize():
    t = [{"standardize": {"mean": 3.5, "std": 2.0}}]
    f = lambda x: (x - 3.5) / 2.0
    return [
        case("double edge cases", t, "double", EDGE, "double", f),
        case("int64 input becomes double", t, "int64", [0, 7, -3, None], "double", lambda x: (float(x) - 3.5) / 2.0),
    ]


def min_max():
    t = [{"min_max": {"min": -1.0, "max": 3.0}}]
    f = lambda x: (x + 1.0) / 4.0
    return [
        case("double edge cases, not clipped", t, "double", EDGE + [-1.0, 3.0, 5.0], "double", f),
        case("int64 input", t, "int64", [-1, 3, 1, None], "double", lambda x: (float(x) + 1.0) / 4.0),
    ]


def clip():
    t = [{"clip": {"min": 0.0, "max": 1.0}}]

    def f(x):
        if math.isnan(x):
            return x
        return min(max(x, 0.0), 1.0)

    return [
        case("double edge cases", t, "double", EDGE + [0.0, 1.0, 0.5], "double", f),
        case("int64 input becomes double", t, "int64", [-5, 0, 1, 2, None], "double", lambda x: f(float(x))),
    ]


def log1p():
    def f(x):
        if math.isnan(x) or x < -1:
            return NAN
        if x == -1:
            return -INF
        if math.isinf(x):
            return INF
        return math.log1p(x)

    xs = [0.0, 1.0, 1e-10, -0.5, -1.0, -2.0, 1e300, NAN, INF, -INF, None]
    return [
        case("double edge cases", ["log1p"], "double", xs, "double", f),
        case("mapping form, int64 input", [{"log1p": {}}], "int64", [0, 1, 99, -1, -5, None], "double", lambda x: f(float(x))),
    ]


def bucketize():
    b = [0.0, 10.0, 100.0]
    t = [{"bucketize": {"boundaries": b}}]

    def f(x):
        if math.isnan(x):
            return len(b)
        return bisect.bisect_right(b, x)  # number of boundaries <= x

    xs = [-1.0, 0.0, 5.0, 10.0, 99.999, 100.0, 1e9, -0.0, NAN, INF, -INF, None]
    return [
        case("boundaries go to the bucket above; NaN to the last", t, "double", xs, "int64", f),
        case("int64 input", t, "int64", [-1, 0, 9, 10, 100, None], "int64", lambda x: f(float(x))),
        case("single boundary", [{"bucketize": {"boundaries": [0.5]}}], "double", [0.4999, 0.5, 0.5001], "int64", lambda x: bisect.bisect_right([0.5], x)),
    ]


def lookup():
    vocab = ["Berlin", "Paris", "", "São Paulo", "東京", "É"]

    def f(oov):
        def g(s):
            if s in vocab:
                return oov + vocab.index(s)
            return fingerprint64(s) % oov if oov > 1 else 0
        return g

    xs = ["Berlin", "Paris", "", "São Paulo", "東京", "É", "E\u0301", "berlin", "Berlin ", "Rome", "Zürich", None]
    return [
        case("one oov bucket; byte-exact, empty string in vocabulary", [{"lookup": {"vocabulary": vocab}}], "string", xs, "int64", f(1)),
        case("three oov buckets by Fingerprint64", [{"lookup": {"vocabulary": vocab, "oov_buckets": 3}}], "string", xs, "int64", f(3)),
        case("empty string out of vocabulary", [{"lookup": {"vocabulary": ["a", "b"], "oov_buckets": 1}}], "string", ["", "a", "b", "c"], "int64", lambda s: {"a": 1, "b": 2}.get(s, 0)),
    ]


def one_hot():
    def f(d):
        return lambda i: [1.0 if j == i else 0.0 for j in range(d)]

    c = case("index to vector; out of range gives zeros", [{"one_hot": {"depth": 3}}], "int64", [0, 1, 2, 3, -1, None], "float_vector", f(3), dim=3)
    c2 = case("after lookup", [{"lookup": {"vocabulary": ["x", "y"]}}, {"one_hot": {"depth": 3}}], "string", ["x", "y", "z", None], "float_vector",
              lambda s: f(3)({"x": 1, "y": 2}.get(s, 0)), dim=3)
    return [c, c2]


def hash_():
    def f(bins):
        return lambda s: fingerprint64(s) % bins

    t = lambda bins: [{"hash": {"bins": bins, "function": "farmhash_fingerprint64"}}]
    xs = ["A", "B", "C", "D", "E", "", "São Paulo", "東京", "münchen", "x" * 65, "Hello", "TensorFlow", "2.x", None]
    return [
        case("strings, 3 bins (Keras Hashing doc example A..E = 1 0 1 1 2)", t(3), "string", xs, "int64", f(3)),
        case("strings, 1000 bins", t(1000), "string", xs, "int64", f(1000)),
        case("int64 hashed as decimal string", t(10), "int64", [0, 1, -1, 42, 9223372036854775807, None], "int64", lambda x: f(10)(str(x))),
    ]


def fill_null():
    return [
        case("double", [{"fill_null": {"value": -1.5}}], "double", [1.0, None, NAN, None], "double", lambda x: x) | {
            "output": col("double", [1.0, -1.5, NAN, -1.5])},
        case("int64", [{"fill_null": {"value": 0}}], "int64", [5, None], "int64", lambda x: x) | {"output": col("int64", [5, 0])},
        case("string", [{"fill_null": {"value": "unknown"}}], "string", ["a", None, ""], "string", lambda x: x) | {
            "output": col("string", ["a", "unknown", ""])},
        case("bool", [{"fill_null": {"value": False}}], "bool", [True, None], "bool", lambda x: x) | {"output": col("bool", [True, False])},
        case("then standardize: null no longer null", [{"fill_null": {"value": 3.5}}, {"standardize": {"mean": 3.5, "std": 2.0}}], "double",
             [None, 5.5], "double", lambda x: x) | {"output": col("double", [0.0, 1.0])},
    ]


def cast():
    def to_int(x):
        if math.isnan(x) or math.isinf(x) or not (-2.0**63 <= math.trunc(x) < 2.0**63):
            return None
        return int(math.trunc(x))

    xs = [1.9, -1.9, 0.0, -0.0, 1e19, -9223372036854775808.0, NAN, INF, -INF, None]
    return [
        case("double to int64 truncates; NaN, ±Inf, out of range become null", [{"cast": {"to": "int64"}}], "double", xs, "int64", to_int),
        case("bool to double", [{"cast": {"to": "double"}}], "bool", [True, False, None], "double", lambda b: 1.0 if b else 0.0),
        case("bool to int64", [{"cast": {"to": "int64"}}], "bool", [True, False, None], "int64", lambda b: 1 if b else 0),
        case("int64 to double", [{"cast": {"to": "double"}}], "int64", [3, -4, None], "double", float),
    ]


def abs_():
    def to_int(x):
        return None if x == -(2**63) else abs(x)  # |-2**63| is not an int64

    # -0.0 → 0.0 is asserted by the unit tests of each implementation: the
    # tolerance rule cannot tell the zeros apart.
    xs = [2.5, -2.5, 0.0, -0.0, -1e-300, -1e300, NAN, INF, -INF, None]
    return [
        case("double: NaN stays NaN, -Inf becomes +Inf", ["abs"], "double", xs, "double", abs),
        case("int64 stays int64; the smallest int64 becomes null", [{"abs": {}}], "int64",
             [5, -5, 0, 9223372036854775807, -9223372036854775807, -9223372036854775808, None], "int64", to_int),
        case("then clip", ["abs", {"clip": {"min": 0.0, "max": 1.0}}], "double", [-0.25, -3.0, 0.5, None], "double",
             lambda x: min(abs(x), 1.0)),
    ]


INVALID = [
    ("std <= 0", "double", [{"standardize": {"mean": 0, "std": 0}}], "std must be > 0"),
    ("min >= max", "double", [{"min_max": {"min": 1, "max": 1}}], "must be < max"),
    ("clip min >= max", "double", [{"clip": {"min": 2, "max": 1}}], "must be < max"),
    ("unsorted boundaries", "double", [{"bucketize": {"boundaries": [0, 10, 5]}}], "strictly increasing"),
    ("repeated boundary", "double", [{"bucketize": {"boundaries": [0, 0]}}], "strictly increasing"),
    ("empty vocabulary", "string", [{"lookup": {"vocabulary": []}}], "vocabulary must not be empty"),
    ("duplicate vocabulary", "string", [{"lookup": {"vocabulary": ["a", "a"]}}], "twice"),
    ("lookup of a number", "double", [{"lookup": {"vocabulary": ["a"]}}], "lookup needs a string input"),
    ("log1p of a string", "string", ["log1p"], "log1p needs an int64 or double input"),
    ("log1p after lookup is fine, one_hot after log1p is not", "string", [{"lookup": {"vocabulary": ["a"]}}, "log1p", {"one_hot": {"depth": 2}}], "one_hot needs an int64"),
    ("one_hot depth below lookup size", "string", [{"lookup": {"vocabulary": ["a", "b"]}}, {"one_hot": {"depth": 2}}], "depth 2 is less than the 3"),
    ("unknown hash function", "string", [{"hash": {"bins": 2, "function": "xxhash64"}}], "not supported"),
    ("fill_null of the wrong type", "double", [{"fill_null": {"value": "x"}}], "does not fit"),
    ("cast to string", "double", [{"cast": {"to": "string"}}], "not supported"),
    ("abs of a string", "string", ["abs"], "abs needs an int64 or double input"),
]

ABOUT = {
    "standardize": "(x - mean) / std as double. NaN stays NaN, ±Inf stays ±Inf, null stays null.",
    "min_max": "(x - min) / (max - min) as double, not clipped.",
    "clip": "min(max(x, min), max) as double; NaN stays NaN, ±Inf go to the bounds.",
    "log1p": "ln(1 + x) as double; x < -1 gives NaN, x = -1 gives -Infinity.",
    "bucketize": "Bucket i holds boundaries[i-1] <= x < boundaries[i] (Keras Discretization); NaN goes to the last bucket.",
    "lookup": "Keras StringLookup(num_oov_indices=oov_buckets, mask_token=None): OOV → Fingerprint64(s) mod oov_buckets, vocabulary[i] → oov_buckets + i; byte-exact UTF-8.",
    "one_hot": "int64 index → float_vector of dim depth; out of range gives all zeros.",
    "hash": "Keras Hashing(num_bins=bins), salt None: FarmHash Fingerprint64 of the UTF-8 bytes mod bins; int64 is hashed as its decimal string.",
    "fill_null": "Nulls become the value; NaN is a value and is left alone.",
    "cast": "double → int64 truncates toward zero; NaN, ±Inf and out-of-range become null; bool → 1/0.",
    "abs": "|x|, of the input's type: NaN stays NaN, ±Infinity becomes Infinity, -0 becomes 0; the smallest int64 has no int64 absolute value and becomes null.",
}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    gens = {"standardize": standardize, "min_max": min_max, "clip": clip, "log1p": log1p, "bucketize": bucketize,
            "lookup": lookup, "one_hot": one_hot, "hash": hash_, "fill_null": fill_null, "cast": cast, "abs": abs_}
    only = sys.argv[1:]
    for op in only:
        if op not in gens:
            sys.exit(f"unknown op {op!r}; ops: {', '.join(gens)}")
    for op, g in gens.items():
        if only and op not in only:
            continue
        doc = {"op": op, "about": ABOUT[op], "tolerance": TOL, "cases": g()}
        with open(os.path.join(here, op + ".json"), "w", encoding="utf-8") as f:
            json.dump(doc, f, ensure_ascii=False, indent=1)
            f.write("\n")
    inv = {"about": "Chains that must be rejected when specs load; error holds a substring of the Go message.",
           "cases": [{"name": n, "input_type": t, "transform": tr, "error": e} for n, t, tr, e in INVALID]}
    with open(os.path.join(here, "invalid.json"), "w", encoding="utf-8") as f:
        json.dump(inv, f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
