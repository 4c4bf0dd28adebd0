"""Unit tests of GetOnlineFeaturesResponse → numpy conversion, from real messages."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from floe import FloeError, OnlineFeatures
from floe.v1 import serving_pb2, types_pb2

PRESENT = serving_pb2.FEATURE_STATUS_PRESENT
NOT_FOUND = serving_pb2.FEATURE_STATUS_NOT_FOUND
EXPIRED = serving_pb2.FEATURE_STATUS_EXPIRED
NULL = serving_pb2.FEATURE_STATUS_NULL

# 2026-01-02T03:04:05.000006Z in microseconds since the epoch.
T0 = 1767323045000006


def column(
    name: str, value_type: int, statuses: list[int], **values
) -> serving_pb2.FeatureColumn:
    return serving_pb2.FeatureColumn(
        name=name, value_type=value_type, statuses=statuses, **values
    )


def numeric_response() -> serving_pb2.GetOnlineFeaturesResponse:
    """Three rows: a known entity, an unknown one, and one with an expired view."""
    return serving_pb2.GetOnlineFeaturesResponse(
        row_count=3,
        registry_version="abc123",
        columns=[
            column(
                "profile:age",
                types_pb2.VALUE_TYPE_INT64,
                [PRESENT, NOT_FOUND, PRESENT],
                int64_values=types_pb2.Int64List(values=[41, 0, 29]),
            ),
            column(
                "behavior:price_sensitivity",
                types_pb2.VALUE_TYPE_DOUBLE,
                [PRESENT, NOT_FOUND, EXPIRED],
                double_values=types_pb2.DoubleList(values=[0.25, 0.0, 0.75]),
            ),
            column(
                "behavior:is_premium",
                types_pb2.VALUE_TYPE_BOOL,
                [PRESENT, NOT_FOUND, EXPIRED],
                bool_values=types_pb2.BoolList(values=[True, False, False]),
            ),
        ],
        views=[
            serving_pb2.ViewRows(
                view="profile",
                event_time_unix_micros=[T0, 0, T0 + 1],
                snapshot_ids=[7, 0, 7],
                tiers=[
                    serving_pb2.TIER_ONLINE,
                    serving_pb2.TIER_NONE,
                    serving_pb2.TIER_L1,
                ],
            ),
            serving_pb2.ViewRows(
                view="behavior",
                event_time_unix_micros=[T0, 0, 1],
                snapshot_ids=[9, 0, 9],
                tiers=[
                    serving_pb2.TIER_ONLINE,
                    serving_pb2.TIER_NONE,
                    serving_pb2.TIER_OFFLINE,
                ],
            ),
        ],
    )


def mixed_response() -> serving_pb2.GetOnlineFeaturesResponse:
    """Two rows of every non-numeric type; the second row's values are missing."""
    return serving_pb2.GetOnlineFeaturesResponse(
        row_count=2,
        columns=[
            column(
                "p:city",
                types_pb2.VALUE_TYPE_STRING,
                [PRESENT, NULL],
                string_values=types_pb2.StringList(values=["Lyon", ""]),
            ),
            column(
                "p:age",
                types_pb2.VALUE_TYPE_INT64,
                [PRESENT, NOT_FOUND],
                int64_values=types_pb2.Int64List(values=[41, 0]),
            ),
            column(
                "p:last_updated",
                types_pb2.VALUE_TYPE_TIMESTAMP,
                [PRESENT, NOT_FOUND],
                timestamp_values=types_pb2.TimestampList(unix_micros=[T0, 0]),
            ),
            column(
                "b:embedding",
                types_pb2.VALUE_TYPE_FLOAT_VECTOR,
                [PRESENT, NOT_FOUND],
                float_vector_values=types_pb2.FloatVectorList(
                    dim=3, values=[0.5, -1.0, 2.0, 0.0, 0.0, 0.0]
                ),
            ),
        ],
        views=[
            serving_pb2.ViewRows(
                view="p",
                event_time_unix_micros=[T0, 0],
                snapshot_ids=[1, 0],
                tiers=[2, 4],
            ),
            serving_pb2.ViewRows(
                view="b",
                event_time_unix_micros=[T0, 0],
                snapshot_ids=[1, 0],
                tiers=[2, 4],
            ),
        ],
    )


def roundtrip(resp: serving_pb2.GetOnlineFeaturesResponse) -> OnlineFeatures:
    """Converts resp after a serialization round trip, as it arrives off the wire."""
    wire = serving_pb2.GetOnlineFeaturesResponse.FromString(resp.SerializeToString())
    return OnlineFeatures.from_response(wire)


def test_columns_are_typed_arrays():
    f = roundtrip(numeric_response())
    assert f.feature_names == (
        "profile:age",
        "behavior:price_sensitivity",
        "behavior:is_premium",
    )
    assert len(f) == 3 and f.row_count == 3
    assert f.registry_version == "abc123"
    age = f.columns["profile:age"]
    assert age.dtype == np.int64 and age.tolist() == [41, 0, 29]
    ps = f.columns["behavior:price_sensitivity"]
    assert ps.dtype == np.float64 and ps.tolist() == [0.25, 0.0, 0.75]
    prem = f.columns["behavior:is_premium"]
    assert prem.dtype == np.bool_ and prem.tolist() == [True, False, False]


def test_statuses_matrix():
    f = roundtrip(numeric_response())
    assert f.statuses.dtype == np.int8
    np.testing.assert_array_equal(
        f.statuses,
        [
            [PRESENT, PRESENT, PRESENT],
            [NOT_FOUND, NOT_FOUND, NOT_FOUND],
            [PRESENT, EXPIRED, EXPIRED],
        ],
    )


def test_view_metadata():
    f = roundtrip(numeric_response())
    times = f.event_times["profile"]
    assert times.dtype == np.dtype("datetime64[us]")
    assert times[0] == np.datetime64("2026-01-02T03:04:05.000006")
    assert np.isnat(times[1])
    assert times[2] == np.datetime64("2026-01-02T03:04:05.000007")
    assert f.snapshot_ids["behavior"].dtype == np.int64
    assert f.snapshot_ids["behavior"].tolist() == [9, 0, 9]
    assert f.tiers["behavior"].dtype == np.int8
    assert f.tiers["behavior"].tolist() == [
        serving_pb2.TIER_ONLINE,
        serving_pb2.TIER_NONE,
        serving_pb2.TIER_OFFLINE,
    ]


def test_to_numpy_numeric_is_float64_with_nan_for_missing():
    x = roundtrip(numeric_response()).to_numpy()
    assert x.dtype == np.float64 and x.shape == (3, 3)
    np.testing.assert_array_equal(x[0], [41.0, 0.25, 1.0])
    assert np.isnan(x[1]).all()
    # Expired values are not trusted by default...
    assert x[2, 0] == 29.0 and np.isnan(x[2, 1]) and np.isnan(x[2, 2])


def test_to_numpy_keep_expired():
    x = roundtrip(numeric_response()).to_numpy(keep_expired=True)
    np.testing.assert_array_equal(x[2], [29.0, 0.75, 0.0])
    assert np.isnan(x[1]).all()


def test_to_numpy_float32():
    x = roundtrip(numeric_response()).to_numpy(np.float32)
    assert (
        x.dtype == np.float32 and np.isnan(x[1]).all() and x[0, 1] == np.float32(0.25)
    )


def test_to_numpy_integer_dtype_needs_complete_values():
    f = roundtrip(numeric_response())
    with pytest.raises(ValueError, match="missing values"):
        f.to_numpy(np.int64)
    full = roundtrip(
        serving_pb2.GetOnlineFeaturesResponse(
            row_count=1,
            columns=[
                column(
                    "v:n",
                    types_pb2.VALUE_TYPE_INT64,
                    [PRESENT],
                    int64_values=types_pb2.Int64List(values=[5]),
                )
            ],
        )
    )
    x = full.to_numpy(np.int64)
    assert x.dtype == np.int64 and x.tolist() == [[5]]


def test_mixed_types_columns():
    f = roundtrip(mixed_response())
    city = f.columns["p:city"]
    assert city.dtype == object and city.tolist() == ["Lyon", ""]
    ts = f.columns["p:last_updated"]
    assert ts.dtype == np.dtype("datetime64[us]")
    assert ts[0] == np.datetime64("2026-01-02T03:04:05.000006")
    emb = f.columns["b:embedding"]
    assert emb.dtype == np.float32 and emb.shape == (2, 3)
    np.testing.assert_array_equal(emb[0], [0.5, -1.0, 2.0])


def test_float_vector_refuses_numeric_matrix_with_a_hint():
    f = roundtrip(mixed_response())
    with pytest.raises(ValueError, match=r"columns\['b:embedding'\].*dtype=object"):
        f.to_numpy()
    with pytest.raises(ValueError, match="float_vector"):
        f.to_numpy(np.float64)


def test_to_numpy_object():
    x = roundtrip(mixed_response()).to_numpy(dtype=object)
    assert x.dtype == object and x.shape == (2, 4)
    assert x[0, 0] == "Lyon"
    assert x[0, 1] == 41 and isinstance(x[0, 1], int)
    assert x[0, 2] == dt.datetime(2026, 1, 2, 3, 4, 5, 6)
    np.testing.assert_array_equal(x[0, 3], np.array([0.5, -1.0, 2.0], dtype=np.float32))
    # Missing values are NaN whatever the feature's type (a NULL string too).
    assert all(isinstance(v, float) and np.isnan(v) for v in x[1])


def test_to_numpy_default_is_object_when_strings_present():
    resp = mixed_response()
    del resp.columns[3]  # the vector
    x = roundtrip(resp).to_numpy()
    assert x.dtype == object
    assert x[0, 0] == "Lyon" and np.isnan(x[1, 1])
    with pytest.raises(ValueError, match="'p:city' is string"):
        roundtrip(resp).to_numpy(np.float64)


def test_expected_features_detects_drift():
    resp = numeric_response()
    names = [c.name for c in resp.columns]
    OnlineFeatures.from_response(resp, expected_features=names)
    with pytest.raises(FloeError, match="make generate"):
        OnlineFeatures.from_response(resp, expected_features=list(reversed(names)))


def test_zero_rows():
    resp = serving_pb2.GetOnlineFeaturesResponse(
        row_count=0,
        columns=[
            serving_pb2.FeatureColumn(
                name="v:a", value_type=types_pb2.VALUE_TYPE_DOUBLE
            ),
            serving_pb2.FeatureColumn(
                name="v:e", value_type=types_pb2.VALUE_TYPE_FLOAT_VECTOR
            ),
        ],
    )
    f = roundtrip(resp)
    assert f.statuses.shape == (0, 2)
    assert f.columns["v:a"].shape == (0,)
    assert f.columns["v:e"].shape == (0, 0)
    assert f.to_numpy(dtype=object).shape == (0, 2)


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda r: r.columns[0].statuses.append(PRESENT), "4 statuses for 3 rows"),
        (
            lambda r: r.columns[1].double_values.values.append(1.0),
            "4 values for 3 rows",
        ),
        (lambda r: r.views[0].snapshot_ids.append(1), "4 snapshot_ids for 3 rows"),
        (
            lambda r: r.columns[0].double_values.values.extend([1, 2, 3]),
            "is int64 but holds double_values",
        ),
    ],
)
def test_malformed_responses_are_rejected(mutate, message):
    resp = numeric_response()
    mutate(resp)
    with pytest.raises(FloeError, match=message):
        OnlineFeatures.from_response(resp)


def test_vector_length_is_checked():
    resp = mixed_response()
    resp.columns[3].float_vector_values.values.append(1.0)
    with pytest.raises(FloeError, match="7 floats for 2 rows of dim 3"):
        OnlineFeatures.from_response(resp)
