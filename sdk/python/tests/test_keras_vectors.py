"""floe.keras against the shared transform vectors, and the generated preprocessing.

Every case of every file in specs/testdata/transforms runs through the Keras
layers floe.keras builds and must give the outputs the Go implementation is held
to, within the file's tolerance (integers, strings, bools and null positions
exactly). invalid.json's chains must be rejected. Then: the cases where Keras'
own layers differ from Go and floe.keras works around them, the generated
PricingAgentV2.preprocessing() on raw rows against values computed here by hand,
and a .keras save and reload.
"""

from __future__ import annotations

import bisect
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

keras = pytest.importorskip("keras")
pytest.importorskip("tensorflow")  # StringLookup and Hashing run on it

import floe.keras as fk  # noqa: E402
from floe.features import PROJECTS  # noqa: E402
from floe.features.pricing import PricingAgentV1, PricingAgentV2  # noqa: E402

REPO = Path(__file__).resolve().parents[3]
VECTORS = REPO / "specs" / "testdata" / "transforms"
VECTOR_FILES = sorted(p for p in VECTORS.glob("*.json") if p.name != "invalid.json")

_ZERO = {"int64": 0, "double": 0.0, "string": "", "bool": False}
_NUMPY = {"int64": np.int64, "double": np.float64, "bool": np.bool_, "string": object}


def _decode(v: Any) -> Any:
    return (
        {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}.get(v, v)
        if isinstance(v, str)
        else v
    )


def _cases() -> list[Any]:
    params = []
    for path in VECTOR_FILES:
        doc = json.loads(path.read_text(encoding="utf-8"))
        for case in doc["cases"]:
            params.append(pytest.param(doc, case, id=f"{doc['op']}: {case['name']}"))
    return params


def _input(column: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """A vector input column as (values, null); nulls hold the type's zero."""
    t = column["type"]
    values = [_decode(v) for v in column["values"]]
    null = np.array([v is None for v in values], dtype=bool)
    arr = np.empty(len(values), dtype=_NUMPY[t])
    arr[:] = [_ZERO[t] if v is None else v for v in values]
    return arr, null


def _as_numpy(values: Any) -> np.ndarray:
    out = np.asarray(values)
    if out.dtype.kind in "OS":  # tf.string comes back as bytes
        out = np.array([v.decode("utf-8") for v in out], dtype=object)
    return out


def _close(got: float, want: float, tol: dict[str, Any]) -> bool:
    """The files' rule for doubles: NaN only matches NaN, infinities exactly."""
    if math.isnan(want):
        return math.isnan(got)
    if math.isinf(want):
        return got == want
    return abs(got - want) <= tol["atol"] + tol["rtol"] * abs(want)


_DTYPE = {"double": np.float64, "int64": np.int64, "bool": np.bool_, "string": object}


def _assert_column(
    got: Any, got_null: Any, want: dict[str, Any], tol: dict[str, Any]
) -> None:
    """Asserts a chain's output against a vector output column, as the file says."""
    t = want["type"]
    values = [v if t == "string" else _decode(v) for v in want["values"]]
    got, got_null = _as_numpy(got), np.asarray(got_null)
    assert got_null.dtype == np.bool_
    assert got_null.tolist() == [v is None for v in values], "null positions"
    if t == "float_vector":
        assert got.dtype == np.float32 and got.shape == (len(values), want["dim"])
    else:
        assert got.dtype == _DTYPE[t] and got.shape == (len(values),), got.dtype
    for i, (g, w) in enumerate(zip(got.tolist(), values)):
        if w is None:
            continue  # the value at a null position is unspecified
        if t == "double":
            assert _close(g, w, tol), f"[{i}] got {g!r}, want {w!r}"
        elif t == "float_vector":
            assert all(_close(a, b, tol) for a, b in zip(g, w)), f"[{i}] {g} != {w}"
        else:  # int64, bool, string: exactly, and of the same Python type
            assert g == w and type(g) is type(w), f"[{i}] got {g!r}, want {w!r}"


def test_every_op_has_a_vector_file():
    docs = [json.loads(p.read_text(encoding="utf-8")) for p in VECTOR_FILES]
    assert sorted(d["op"] for d in docs) == sorted(fk.OPS)
    assert all(d["cases"] for d in docs)


@pytest.mark.parametrize(("doc", "case"), _cases())
def test_vector(doc, case):
    values, null = _input(case["input"])
    chain = fk.Chain(case["input"]["type"], case["transform"])
    got, got_null = chain(values, null)
    _assert_column(got, got_null, case["output"], doc["tolerance"])


def _invalid_cases() -> list[Any]:
    doc = json.loads((VECTORS / "invalid.json").read_text(encoding="utf-8"))
    return [pytest.param(c, id=c["name"]) for c in doc["cases"]]


@pytest.mark.parametrize("case", _invalid_cases())
def test_invalid_chain_is_rejected(case):
    with pytest.raises(ValueError, match=case["error"].replace("(", r"\(")):
        fk.Chain(case["input_type"], case["transform"])


@pytest.mark.parametrize(
    ("input_type", "transform", "error"),
    [
        ("double", [{"standardize": {"mean": 1}}], r"standardize\.std is required"),
        ("double", [{"standardize": {"fitted": True}}], "marked fitted"),
        ("int64", [{"fill_null": {"value": float("nan")}}], "does not fit"),
        ("timestamp", [{"fill_null": {"value": 0}}], "does not apply to timestamp"),
        ("double", ["sqrt"], "unknown step 'sqrt'"),
        ("double", [{"clip": {"min": 0, "max": 1}, "log1p": {}}], "exactly one"),
        ("double", [{"clip": {"min": 0, "max": 1, "maximum": 2}}], "no parameter"),
        ("string", [{"abs": {}}], "abs needs an int64 or double input"),
    ],
)
def test_malformed_chain_is_rejected(input_type, transform, error):
    with pytest.raises(ValueError, match=error):
        fk.check_chain(input_type, transform)


# ---- where Keras' own layers differ from Go, and floe.keras does not ----------


def _run(
    input_type: str, transform: list[Any], values: list[Any]
) -> tuple[np.ndarray, np.ndarray]:
    arr, null = _input({"type": input_type, "values": values})
    got, got_null = fk.Chain(input_type, transform)(arr, null)
    return _as_numpy(got), np.asarray(got_null)


def test_jax_runs_in_64_bits():
    if keras.backend.backend() == "jax":
        import jax

        assert jax.config.jax_enable_x64
    got, _ = _run("double", [{"clip": {"min": 0, "max": 1e300}}], [1e300, 0.1])
    assert got.dtype == np.float64 and got.tolist() == [1e300, 0.1]


def test_bucketize_compares_in_float64():
    # keras.layers.Discretization casts inputs to float32, where
    # 0.29999999999999993 is 0.3 and 2**24 + 1 is 2**24.
    x = [0.29999999999999993, 0.3, 0.1, 0.09999999999999999]
    got, _ = _run("double", [{"bucketize": {"boundaries": [0.1, 0.3]}}], x)
    assert (
        got.tolist() == [bisect.bisect_right([0.1, 0.3], v) for v in x] == [1, 2, 1, 0]
    )
    big = 2**24 + 1
    got, _ = _run(
        "int64", [{"bucketize": {"boundaries": [float(big)]}}], [big - 1, big]
    )
    assert got.tolist() == [0, 1]


def test_standardize_without_keras_epsilon_or_overflow():
    # Normalization divides by max(sqrt(variance), 1e-7) and squares std: for
    # these floe.keras uses its own Standardize, so results stay (x - mean) / std.
    # (Within 1e-14, not bitwise: XLA on the CPU may divide an array by a
    # constant as a multiplication by its reciprocal, a rounding apart.)
    x = [3.25 + 1e-9, 3.25, 1e300, -2.0]
    for std in (1e-9, 1e160):
        got, _ = _run("double", [{"standardize": {"mean": 3.25, "std": std}}], x)
        assert got.tolist() == pytest.approx(
            [(v - 3.25) / std for v in x], rel=1e-14, abs=0
        )
    layers = fk.chain_layers("double", [{"standardize": {"mean": 0, "std": 1e-9}}])
    assert isinstance(layers[0], fk.Standardize)
    layers = fk.chain_layers("double", [{"standardize": {"mean": 0, "std": 2}}])
    assert isinstance(layers[0], keras.layers.Normalization)


def test_min_max_is_exact_where_rescaling_is_not():
    # Rescaling's x * (1/span) + (-min/span) cancels badly here; Go divides.
    lo, hi = 7e9, 7e9 + 0.01
    x = [7e9 + 0.005, lo, hi]
    want = [(v - lo) / (hi - lo) for v in x]
    got, _ = _run("double", [{"min_max": {"min": lo, "max": hi}}], x)
    assert got.tolist() == pytest.approx(want, rel=1e-14, abs=1e-15)
    rescaled = x[0] * (1 / (hi - lo)) + (-lo / (hi - lo))
    assert abs(rescaled - want[0]) > 1e-6  # what Rescaling would compute


def test_lookup_vocabulary_starting_with_keras_oov_token():
    # StringLookup's default oov_token "[UNK]" at the head of a vocabulary is
    # taken for the OOV slot, shifting every index; floe.keras picks another.
    vocab = ["[UNK]", "[UNK1]", "a"]
    got, _ = _run(
        "string", [{"lookup": {"vocabulary": vocab}}], ["[UNK]", "[UNK1]", "a", "b"]
    )
    assert got.tolist() == [1, 2, 3, 0]


def test_cast_to_int64_at_the_range_ends():
    two63 = 2.0**63
    got, null = _run(
        "double",
        [{"cast": {"to": "int64"}}],
        [two63, -two63, math.nextafter(two63, 0), -0.5],
    )
    assert null.tolist() == [True, False, False, False]
    assert got[1:].tolist() == [-(2**63), 2**63 - 1024, 0]
    # int64 → int64 is a copy, whatever the magnitude.
    got, _ = _run("int64", [{"cast": {"to": "int64"}}], [2**63 - 1, -(2**63)])
    assert got.tolist() == [2**63 - 1, -(2**63)]


def test_abs_clears_the_sign_and_nulls_the_smallest_int64():
    # What the shared vectors cannot say: -0.0 comes out +0.0, as math.Abs in Go.
    got, null = _run("double", ["abs"], [-0.0, -2.5, 0.1])
    assert [math.copysign(1.0, g) for g in got.tolist()] == [1.0, 1.0, 1.0]
    assert got.tolist() == [0.0, 2.5, 0.1] and not null.any()
    got, null = _run("int64", ["abs"], [-(2**63), -(2**63) + 1, -7, None])
    assert null.tolist() == [True, False, False, True]
    assert got[1:3].tolist() == [2**63 - 1, 7]


def test_null_aware_layers_keep_float64():
    # Keras casts a layer's float inputs to its dtype policy (float32) unless
    # told not to; 0.1 and 2**63 - 1024 must survive fill_null and cast.
    got, _ = _run("double", [{"fill_null": {"value": 0.5}}], [0.1, None])
    assert got.tolist() == [0.1, 0.5]
    got, null = _run("double", [{"cast": {"to": "int64"}}], [2.0**63 - 1024, 0.1])
    assert got.tolist() == [2**63 - 1024, 0] and not null.any()


def test_hash_of_int64_after_a_numeric_step():
    # fill_null runs on the backend; a 32-bit backend would wrap the id before it
    # is hashed. Expected: hash.json's "int64 hashed as decimal string" case.
    got, null = _run(
        "int64",
        [
            {"fill_null": {"value": 1}},
            {"hash": {"bins": 10, "function": "farmhash_fingerprint64"}},
        ],
        [9223372036854775807, None, -1, 42],
    )
    assert got.tolist() == [9, 9, 0, 6] and not null.any()


def test_nan_is_a_value_unless_nulls_are_read_from_the_values():
    # Chain: NaN with no mask is a value; bucketize puts it in the last bucket.
    steps = [{"fill_null": {"value": -1.0}}, {"bucketize": {"boundaries": [0.0]}}]
    got, null = fk.Chain("double", steps)(np.array([np.nan, 1.0]))
    assert np.asarray(got).tolist() == [1, 1] and not np.asarray(null).any()
    # split_nulls, the SDK convention Preprocessing applies by default: NaN is null.
    values, null = fk.split_nulls(np.array([np.nan, 1.0]), "double")
    assert null.tolist() == [True, False]
    got, _ = fk.Chain("double", steps)(values, null)
    assert np.asarray(got).tolist() == [0, 1]


def test_split_nulls_reads_each_convention():
    pa = pytest.importorskip("pyarrow")
    cases = [
        (np.array([1.0, np.nan]), "int64", [1, 0]),
        (np.array(["a", None], dtype=object), "string", ["a", ""]),
        ([True, None], "bool", [True, False]),
        (pa.array([5, None], pa.int64()), "int64", [5, 0]),
        (pa.chunked_array([["x"], [None]]), "string", ["x", ""]),
    ]
    for values, t, want in cases:
        got, null = fk.split_nulls(values, t)
        assert null.tolist() == [False, True], (values, t)
        assert list(got) == want, (values, t)
    got, null = fk.split_nulls(pa.array([np.nan, None]), "double")
    assert null.tolist() == [False, True] and math.isnan(got[0])
    got, null = fk.split_nulls(np.array([1, 2]), "int64")
    assert got.tolist() == [1, 2] and null.tolist() == [False, False]


# ---- generated preprocessing ---------------------------------------------------


CITIES = [
    "Amsterdam",
    "Berlin",
    "Dublin",
    "Lisbon",
    "Madrid",
    "Oslo",
    "Paris",
    "Prague",
    "Rome",
    "Stockholm",
    "Vienna",
    "Warsaw",
]

# Raw values of the features pricing_agent_v2 reads, by row; None is null.
RAW = {
    "user_profile:age": "int64",
    "user_profile:city": "string",
    "user_behavior:sessions_7d": "int64",
    "user_behavior:purchases_30d": "int64",
    "user_behavior:avg_order_value_30d": "double",
    "user_behavior:cart_abandon_rate_7d": "double",
    "user_behavior:price_sensitivity": "double",
    "user_behavior:is_premium": "bool",
}
ROWS = [
    (34, "Berlin", 12, 3, 80.5, 0.25, 0.4, True),
    (None, None, None, 0, None, None, None, None),
    (65, "Zürich", 1000, -1, 2500.0, -0.5, float("nan"), False),
    (17, "", -4, 99, -10.0, 1.5, 1.0, True),
    (25, "berlin", 0, 7, 65.0, 1.0, 0.0, False),
]


def _expected(row: tuple[Any, ...]) -> list[Any]:
    """pricing_agent_v2 of one raw row, computed from its spec by hand (None: null)."""
    age, city, sessions, purchases, aov, cart, sensitivity, premium = row
    clip = lambda x, lo, hi: min(max(x, lo), hi)  # noqa: E731
    age = 0 if age is None else age
    city = "" if city is None else city
    return [
        bisect.bisect_right([18, 25, 35, 45, 55, 65], age),
        1 + CITIES.index(city) if city in CITIES else 0,
        None if sessions is None else math.log1p(clip(sessions, 0, 100)),
        (
            None
            if purchases is None
            else (
                math.log1p(purchases)
                if purchases > -1
                else -math.inf if purchases == -1 else math.nan
            )
        ),
        None if aov is None else (clip(aov, 0, 2000) - 65.0) / 60.0,
        None if cart is None else clip(cart, 0, 1),
        sensitivity,
        None if premium is None else float(premium),
    ]


def _raw_columns(explicit_nulls: bool) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """ROWS as model inputs: typed arrays (zeros at nulls, as OnlineFeatures.columns
    holds them) with null masks, or the SDK's NaN / None convention without."""
    inputs: dict[str, Any] = {}
    nulls: dict[str, Any] = {}
    for (name, t), col in zip(RAW.items(), zip(*ROWS)):
        if explicit_nulls:
            arr = np.empty(len(col), dtype=_NUMPY[t])
            arr[:] = [_ZERO[t] if v is None else v for v in col]
            inputs[name], nulls[name] = arr, np.array([v is None for v in col])
        elif t in ("string", "bool"):
            inputs[name] = np.array(col, dtype=object)
        else:
            inputs[name] = np.array([np.nan if v is None else v for v in col])
    return inputs, (nulls if explicit_nulls else None)


def _assert_rows(
    values: dict[str, Any], nulls: dict[str, Any], rows: list[tuple[Any, ...]]
) -> None:
    assert tuple(values) == tuple(nulls) == PricingAgentV2.FEATURES
    for j, name in enumerate(PricingAgentV2.FEATURES):
        got = np.asarray(values[name])
        assert got.dtype == np.dtype(PricingAgentV2.DTYPES[name]), name
        null = np.asarray(nulls[name])
        for i, row in enumerate(rows):
            want = _expected(row)[j]
            assert bool(null[i]) == (want is None), (name, i)
            if want is None:
                continue
            if isinstance(want, float) and math.isnan(want):
                assert math.isnan(got[i]), (name, i)
            else:
                assert got[i] == pytest.approx(want, rel=1e-12, abs=0), (
                    name,
                    i,
                    got[i],
                    want,
                )


def test_pricing_preprocessing_with_explicit_nulls():
    model = PricingAgentV2.preprocessing()
    assert model.name == PricingAgentV2.NAME
    assert model.feature_names == PricingAgentV2.FEATURES
    assert model.input_features == RAW
    inputs, nulls = _raw_columns(explicit_nulls=True)
    values, out_nulls = model(inputs, nulls)
    _assert_rows(values, out_nulls, ROWS)
    # A stored NaN price_sensitivity (row 2) is a value, not a null, here.
    assert not out_nulls["user_behavior:price_sensitivity"][2]


def test_pricing_preprocessing_reads_nulls_from_nan_and_none():
    model = PricingAgentV2.preprocessing()
    inputs, _ = _raw_columns(explicit_nulls=False)
    values, nulls = model(inputs)
    # Under this convention row 2's NaN price_sensitivity counts as null.
    rows = [r if i != 2 else r[:6] + (None,) + r[7:] for i, r in enumerate(ROWS)]
    _assert_rows(values, nulls, rows)
    matrix = model.to_numpy(inputs)
    assert matrix.shape == (len(ROWS), len(PricingAgentV2.FEATURES))
    for i, row in enumerate(rows):
        want = [math.nan if w is None else w for w in _expected(row)]
        np.testing.assert_allclose(matrix[i], want, rtol=1e-12, atol=0)


def test_missing_raw_feature_is_named():
    inputs, _ = _raw_columns(explicit_nulls=False)
    del inputs["user_profile:city"]
    with pytest.raises(KeyError, match="user_profile:city"):
        PricingAgentV2.preprocessing()(inputs)


@pytest.mark.parametrize("project", PROJECTS)
def test_every_generated_preprocessing_builds(project):
    import importlib

    module = importlib.import_module(f"floe.features.{project}")
    for name in module.__all__:
        cls = getattr(module, name)
        if not hasattr(cls, "TRANSFORMS"):
            assert not hasattr(cls, "preprocessing")
            continue
        model = cls.preprocessing()
        assert model.feature_names == cls.FEATURES
        for feature, t in model.output_types.items():
            dtype = cls.DTYPES[feature]
            want = {
                "int64": np.int64,
                "double": np.float64,
                "bool": np.bool_,
                "string": object,
                "timestamp": "datetime64[us]",
            }.get(t)
            if t == "float_vector":
                assert isinstance(dtype, tuple) and dtype[0] is np.float32
            else:
                assert np.dtype(dtype) == np.dtype(want), feature


@pytest.mark.integration
def test_preprocessing_of_raw_training_data_equals_the_servers(floe_server):
    # The same entity rows read twice from a real server: pricing_agent_v1's raw
    # features, transformed here, must equal pricing_agent_v2's features, which
    # the server transforms with the Go chains. Each row of the example CSVs at
    # its own event time (so other views' values are missing, expired or there),
    # plus an unknown user; snapshots pinned so both reads see the same data.
    import csv
    import datetime as dt

    import floe

    pa = pytest.importorskip("pyarrow")
    ids, times = [987_654_321], [dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)]
    for path in floe_server.csv_files.values():
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                t = dt.datetime.fromisoformat(row["event_time"].replace("Z", "+00:00"))
                ids.append(int(row["user_id"]))
                times.append(t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc))
    rows = pa.table(
        {
            "user_id": pa.array(ids, pa.int64()),
            "event_time": pa.array(times, pa.timestamp("us", tz="UTC")),
        }
    )
    with floe.Client(floe_server.url) as client:
        raw, manifest = client.get_training_data(PricingAgentV1.NAME, rows)
        served, _ = client.get_training_data(
            PricingAgentV2.NAME, rows, snapshot_ids=manifest.snapshot_ids
        )
    # Raw columns are named view__feature; the model takes them as they are, with
    # Arrow's nulls.
    inputs = {name: raw.column(name) for name in raw.column_names}
    values, nulls = PricingAgentV2.preprocessing()(inputs)
    kinds = set()
    for name in PricingAgentV2.FEATURES:
        want = served.column(name.replace(":", "__", 1))
        want_null = np.asarray(want.is_null(), dtype=bool)
        got_null = np.asarray(nulls[name])
        np.testing.assert_array_equal(got_null, want_null, err_msg=name)
        kinds.add((name, bool(want_null.any()), bool((~want_null).any())))
        present = ~want_null
        got = np.asarray(values[name])[present]
        want_values = np.asarray(want.to_numpy(zero_copy_only=False))[present]
        if got.dtype.kind == "f":
            np.testing.assert_allclose(
                got, want_values.astype(np.float64), rtol=1e-12, atol=0, err_msg=name
            )
        else:
            np.testing.assert_array_equal(got, want_values, err_msg=name)
    # The data covers nulls and values of the features that can be null.
    assert any(has_null for _, has_null, _ in kinds)
    assert all(has_value for _, _, has_value in kinds)


# ---- saving ------------------------------------------------------------------------


def test_preprocessing_saves_and_reloads(tmp_path):
    model = PricingAgentV2.preprocessing()
    inputs, nulls = _raw_columns(explicit_nulls=True)
    values, out_nulls = model(inputs, nulls)
    path = tmp_path / "pricing_v2.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, fk.Preprocessing)
    assert loaded.feature_names == model.feature_names
    again, again_nulls = loaded(inputs, nulls)
    for name in PricingAgentV2.FEATURES:
        np.testing.assert_array_equal(np.asarray(again[name]), np.asarray(values[name]))
        np.testing.assert_array_equal(
            np.asarray(again_nulls[name]), np.asarray(out_nulls[name])
        )


# Keras' own Variable.__array__ predates numpy 2's copy keyword; saving the
# Dense kernel warns about it. Nothing of floe.keras is involved.
@pytest.mark.filterwarnings("ignore:__array__ implementation doesn't accept a copy")
def test_model_with_floe_layers_saves_and_reloads(tmp_path):
    x = keras.Input(shape=(), dtype="float64", name="x")
    x_null = keras.Input(shape=(), dtype="bool", name="x_null")
    filled, _ = fk.FillNull(1.5, "double")(x, x_null)
    clipped = fk.Clip(0.0, 10.0)(filled)
    logged = fk.Log1p()(clipped)
    outputs = {
        "z": fk.Standardize(0.5, 1e-9)(logged),
        "bucket": fk.Bucketize([0.5, 1.0, 2.0])(clipped),
        "dense": keras.layers.Dense(2, kernel_initializer="ones")(
            keras.layers.CategoryEncoding(num_tokens=4, output_mode="one_hot")(
                fk.Bucketize([0.5, 1.0, 2.0])(clipped)
            )
        ),
    }
    cast, cast_null = fk.Cast("int64")(x, x_null)
    outputs["cast"], outputs["cast_null"] = cast, cast_null
    model = keras.Model({"x": x, "x_null": x_null}, outputs)
    data = {
        "x": np.array([0.5, np.nan, 20.0, -3.0, 1e19, 1.0]),
        "x_null": np.array([False, False, True, False, False, False]),
    }
    want = model(data)
    assert np.asarray(want["bucket"]).tolist() == [1, 3, 2, 0, 3, 2]
    assert np.asarray(want["cast_null"]).tolist() == [
        False,
        True,
        True,
        False,
        True,
        False,
    ]
    path = tmp_path / "layers.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    got = loaded(data)
    for name in want:
        np.testing.assert_array_equal(
            np.asarray(got[name]), np.asarray(want[name]), err_msg=name
        )
    for layer in (
        fk.Clip(1, 2),
        fk.Bucketize([1.0]),
        fk.FillNull("x", "string"),
        fk.Cast("double"),
        fk.Abs(),
        fk.Chain("string", [{"lookup": {"vocabulary": ["a"]}}]),
    ):
        clone = type(layer).from_config(layer.get_config())
        assert clone.get_config() == layer.get_config()


# ---- packaging ---------------------------------------------------------------------


def test_public_names_of_floe_keras():
    # floe.keras is a package split by concern; generated code and users import
    # these from floe.keras itself.
    for name in fk.__all__:
        assert getattr(fk, name) is not None, name
    assert fk.Preprocessing.__module__ == "floe.keras.preprocessing"
    assert set(fk.OPS) >= {"standardize", "lookup", "abs"}


def test_floe_imports_without_keras():
    # keras made unimportable: floe and the generated modules still import, and
    # floe.keras says what to install.
    code = (
        "import sys\n"
        "sys.modules['keras'] = None\n"
        "import floe, floe.features.pricing\n"
        "assert 'tensorflow' not in sys.modules and 'jax' not in sys.modules\n"
        "try:\n"
        "    import floe.keras\n"
        "except ImportError as e:\n"
        "    assert \"pip install 'floe-features[keras-jax]'\" in str(e), e\n"
        "else:\n"
        "    raise AssertionError('floe.keras imported without keras')\n"
    )
    src = str(REPO / "sdk" / "python" / "src")
    subprocess.run(
        [sys.executable, "-c", code],
        check=True,
        env={"PYTHONPATH": src, "PATH": ""},
        cwd=src,
    )
