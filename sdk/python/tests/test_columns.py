"""Unit tests of Arrow → numpy conversion of training data (floe.columns).

The contract is parity with OnlineFeatures.to_numpy: the same entities, with the
same values and the same missing ones (online: NOT_FOUND / EXPIRED / NULL; in
training data: null), give identical arrays.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

pa = pytest.importorskip("pyarrow")

import floe  # noqa: E402
from floe import OnlineFeatures  # noqa: E402
from floe.columns import (  # noqa: E402
    column_array,
    declared_dims,
    feature_arrays,
    feature_matrix,
)
from floe.v1 import serving_pb2, types_pb2  # noqa: E402

PRESENT = serving_pb2.FEATURE_STATUS_PRESENT
NOT_FOUND = serving_pb2.FEATURE_STATUS_NOT_FOUND
EXPIRED = serving_pb2.FEATURE_STATUS_EXPIRED
NULL = serving_pb2.FEATURE_STATUS_NULL

T0 = 1767323045000006  # 2026-01-02T03:04:05.000006Z, in microseconds

# Row 0 has every value, row 1 is an unknown entity, row 2 has an expired view
# and a null.
STATUSES = {
    "v:n": [PRESENT, NOT_FOUND, EXPIRED],
    "v:x": [PRESENT, NOT_FOUND, NULL],
    "v:flag": [PRESENT, NOT_FOUND, PRESENT],
    "v:city": [PRESENT, NOT_FOUND, NULL],
    "v:seen": [PRESENT, NOT_FOUND, PRESENT],
    "v:emb": [PRESENT, NOT_FOUND, PRESENT],
}


NUMERIC = ["v__n", "v__x", "v__flag"]
ALL = ["v__n", "v__x", "v__flag", "v__city", "v__seen", "v__emb"]
REFS = ["v:n", "v:x", "v:flag", "v:city", "v:seen", "v:emb"]


def online(names=REFS) -> OnlineFeatures:
    """The rows as GetOnlineFeatures answers them, for the named features."""
    values = {
        "v:n": (
            types_pb2.VALUE_TYPE_INT64,
            dict(int64_values=types_pb2.Int64List(values=[2**53 + 1, 0, 7])),
        ),
        "v:x": (
            types_pb2.VALUE_TYPE_DOUBLE,
            dict(double_values=types_pb2.DoubleList(values=[float("nan"), 0, 0])),
        ),
        "v:flag": (
            types_pb2.VALUE_TYPE_BOOL,
            dict(bool_values=types_pb2.BoolList(values=[True, False, False])),
        ),
        "v:city": (
            types_pb2.VALUE_TYPE_STRING,
            dict(string_values=types_pb2.StringList(values=["Oslo", "", ""])),
        ),
        "v:seen": (
            types_pb2.VALUE_TYPE_TIMESTAMP,
            dict(timestamp_values=types_pb2.TimestampList(unix_micros=[T0, 0, T0 + 1])),
        ),
        "v:emb": (
            types_pb2.VALUE_TYPE_FLOAT_VECTOR,
            dict(
                float_vector_values=types_pb2.FloatVectorList(
                    dim=2, values=[0.5, -1.5, 0, 0, 2.25, 3.0]
                )
            ),
        ),
    }
    columns = [
        serving_pb2.FeatureColumn(
            name=name,
            value_type=values[name][0],
            statuses=STATUSES[name],
            **values[name][1],
        )
        for name in names
    ]
    return OnlineFeatures.from_response(
        serving_pb2.GetOnlineFeaturesResponse(row_count=3, columns=columns)
    )


def training_table() -> pa.Table:
    """The same rows as training data: a missing value is a null."""
    seen = [
        dt.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=dt.timezone.utc),
        None,
        dt.datetime(2026, 1, 2, 3, 4, 5, 7, tzinfo=dt.timezone.utc),
    ]
    return pa.table(
        {
            "user_id": pa.array([1, 2, 3], pa.int64()),
            "v__n": pa.array([2**53 + 1, None, None], pa.int64()),
            "v__x": pa.array([float("nan"), None, None], pa.float64()),
            "v__flag": pa.array([True, None, False], pa.bool_()),
            "v__city": pa.array(["Oslo", None, None], pa.string()),
            "v__seen": pa.array(seen, pa.timestamp("us", tz="UTC")),
            "v__emb": pa.array(
                [[0.5, -1.5], None, [2.25, 3.0]], pa.list_(pa.float32())
            ),
        }
    )


def assert_same_cells(got: np.ndarray, want: np.ndarray) -> None:
    assert got.shape == want.shape and got.dtype == want.dtype
    for (i, j), w in np.ndenumerate(want):
        g = got[i, j]
        assert type(g) is type(w), (i, j, g, w)
        if isinstance(w, np.ndarray):
            assert g.dtype == w.dtype
            np.testing.assert_array_equal(g, w)
        elif isinstance(w, float) and np.isnan(w):
            assert np.isnan(g), (i, j, g)
        else:
            assert g == w, (i, j, g, w)


def test_numeric_matrix_equals_the_online_one():
    table = training_table()
    want = online(REFS[:3]).to_numpy()
    got = feature_matrix(table, NUMERIC)
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, want)  # NaN where NaN, 2**53+1 rounded alike
    np.testing.assert_array_equal(
        feature_matrix(table, NUMERIC, np.float32), want.astype(np.float32)
    )


def test_object_matrix_equals_the_online_one_cell_for_cell():
    table = training_table()
    want = online().to_numpy(dtype=object)
    assert_same_cells(feature_matrix(table, ALL, dtype=object), want)
    # Without dtype, a string feature makes it an object matrix too.
    assert_same_cells(feature_matrix(table, ALL[:5]), online(REFS[:5]).to_numpy())


def test_per_feature_arrays():
    arrays = feature_arrays(training_table(), ALL)
    assert list(arrays) == ALL
    np.testing.assert_array_equal(arrays["v__n"], [2.0**53, np.nan, np.nan])
    np.testing.assert_array_equal(arrays["v__flag"], [1.0, np.nan, 0.0])
    assert arrays["v__city"].dtype == object and arrays["v__city"][0] == "Oslo"
    assert np.isnan(arrays["v__city"][1])
    assert arrays["v__seen"].dtype == np.dtype("datetime64[us]")
    assert np.isnat(arrays["v__seen"][1])
    assert arrays["v__seen"][0] == online().columns["v:seen"][0]
    emb = arrays["v__emb"]
    assert emb.dtype == np.float32 and emb.shape == (3, 2)
    np.testing.assert_array_equal(emb, [[0.5, -1.5], [np.nan, np.nan], [2.25, 3.0]])


def test_vectors_of_a_sliced_chunked_column():
    col = pa.chunked_array(
        [
            pa.array([[1, 2], None], pa.list_(pa.float32())),
            pa.array([[3, 4], [5, 6]], pa.list_(pa.float32())),
        ]
    )
    np.testing.assert_array_equal(
        column_array(col.slice(1, 2), "e"), [[np.nan, np.nan], [3, 4]]
    )
    # An all-null slice needs the dimension from elsewhere (the spool knows it).
    np.testing.assert_array_equal(
        column_array(col.slice(1, 1), "e", dim=2), [[np.nan, np.nan]]
    )
    with pytest.raises(ValueError, match="null in every row|every value is null"):
        column_array(col.slice(1, 1), "e")


def test_declared_dimension_of_an_all_null_vector_column():
    field = pa.field("v__emb", pa.list_(pa.float32()), metadata={b"floe.dim": b"3"})
    table = pa.table([pa.array([None, None], pa.list_(pa.float32()))], schema=pa.schema([field]))
    assert declared_dims(table.schema) == {"v__emb": 3}
    np.testing.assert_array_equal(
        feature_arrays(table, ["v__emb"])["v__emb"], np.full((2, 3), np.nan, np.float32)
    )
    # Values of another length than declared are an error, not a reshape.
    bad = pa.table(
        [pa.array([[1.0, 2.0], None], pa.list_(pa.float32()))], schema=pa.schema([field])
    )
    with pytest.raises(floe.FloeError, match="lengths"):
        feature_arrays(bad, ["v__emb"])


def test_missing_tells_a_stored_nan_from_no_value():
    from floe.training import TrainingData
    from floe.v1 import training_pb2

    table = pa.table(
        {
            "user_id": pa.array([1, 2, 3], pa.int64()),
            "v__x": pa.array([float("nan"), None, 1.5], pa.float64()),
            "v__n": pa.array([4, 5, None], pa.int64()),
        }
    )
    data = TrainingData(table, training_pb2.DatasetManifest(columns=["v__x", "v__n"]))
    x = data.to_numpy()
    assert np.isnan(x[0, 0]) and np.isnan(x[1, 0])  # the same NaN in the matrix
    np.testing.assert_array_equal(
        data.missing(), [[False, False], [True, False], [False, True]]
    )
    assert (np.isnan(x) & ~data.missing()).tolist() == [
        [True, False],
        [False, False],
        [False, False],
    ]


def test_matrix_refusals():
    table = training_table()
    with pytest.raises(ValueError, match="float_vector"):
        feature_matrix(table, ALL)
    with pytest.raises(ValueError, match="'v__city'.*dtype=object"):
        feature_matrix(table, ["v__n", "v__city"], np.float64)
    with pytest.raises(ValueError, match="missing values"):
        feature_matrix(table, ["v__n"], np.int64)
    full = pa.table({"v__n": pa.array([1, 2], pa.int64())})
    assert feature_matrix(full, ["v__n"], np.int64).tolist() == [[1], [2]]
