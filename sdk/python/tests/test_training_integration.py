"""Training data from a real `floe serve` loaded with the pricing example:
streaming, the feature service's order, and parity with online vectors."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterator

import numpy as np
import pytest

pa = pytest.importorskip("pyarrow")

import floe  # noqa: E402
import floe.columns  # noqa: E402
from floe.features.pricing import PricingAgentV1, PricingAgentV2  # noqa: E402

pytestmark = pytest.mark.integration

UNKNOWN_USER = 987_654_321
# More rows than the server's 64k-row record batches, so streams have several.
MANY = 150_000


@pytest.fixture(scope="module")
def client(floe_server) -> Iterator[floe.Client]:
    with floe.Client(floe_server.url) as c:
        yield c


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def entity_rows(n: int, seed: int = 0) -> pa.Table:
    """n rows of known and unknown users at times over the last two days, with
    a label column the server must pass through (the row's index)."""
    rng = np.random.default_rng(seed)
    now = np.datetime64(now_utc().replace(tzinfo=None), "us")
    ids = rng.integers(1, 1600, n)  # the example has ~1,500 users: some unknown
    ago = rng.integers(0, 2 * 86_400 * 10**6, n).astype("timedelta64[us]")
    return pa.table(
        {
            "user_id": pa.array(ids, pa.int64()),
            "event_time": pa.array(now - ago, pa.timestamp("us", tz="UTC")),
            "label": pa.array(np.arange(n, dtype=np.float64)),
        }
    )


@pytest.fixture(scope="module")
def many_rows() -> pa.Table:
    return entity_rows(MANY)


def assert_same_cells(got: np.ndarray, want: np.ndarray) -> None:
    """Element-wise equality of object or float matrices, NaN equal to NaN."""
    assert got.shape == want.shape and got.dtype == want.dtype
    if got.dtype != object:
        np.testing.assert_array_equal(got, want)
        return
    for (i, j), w in np.ndenumerate(want):
        g = got[i, j]
        if isinstance(w, float) and np.isnan(w):
            assert isinstance(g, float) and np.isnan(g), (i, j, g)
        else:
            assert type(g) is type(w) and g == w, (i, j, g, w)


def test_streaming_equals_the_full_table(client, many_rows):
    data = client.get_training_data(PricingAgentV2.NAME, many_rows, timeout=120)
    with client.stream_training_data(
        PricingAgentV2.NAME, many_rows, timeout=120
    ) as stream:
        assert stream.num_rows == MANY
        assert stream.feature_columns == data.feature_columns
        batches = list(stream)
    assert len(batches) > 1 and stream.done
    streamed = pa.Table.from_batches(batches, stream.schema)
    assert streamed.equals(data.table, check_metadata=True)
    assert stream.manifest.snapshot_ids == data.manifest.snapshot_ids
    assert stream.manifest.spec_hash == data.manifest.spec_hash
    assert stream.manifest.entity_rows == MANY
    # Labels come back unchanged and in order.
    np.testing.assert_array_equal(data.column("label"), np.arange(MANY))


@pytest.mark.parametrize(
    "service", [PricingAgentV1, PricingAgentV2], ids=lambda s: s.NAME
)
def test_numpy_is_in_the_feature_services_order(client, service):
    rows = entity_rows(200, seed=1)
    data = client.get_training_data(service.NAME, rows, timeout=60)
    assert data.feature_names == service.FEATURES
    assert tuple(data.manifest.columns) == data.feature_columns
    assert list(data.feature_arrays()) == list(data.feature_columns)
    # Column j of the matrix is the table column of FEATURES[j].
    assert data.feature_columns == tuple(f.replace(":", "__") for f in service.FEATURES)
    x = data.to_numpy(dtype=object)
    assert x.shape == (200, len(service.FEATURES))
    for j, col in enumerate(data.feature_columns):
        one = floe.columns.feature_matrix(data.table, [col], dtype=object)
        assert_same_cells(x[:, [j]], one)


def test_transformed_features_are_named_by_output(client):
    data = client.get_training_data(PricingAgentV2.NAME, entity_rows(10), timeout=60)
    assert data.feature_columns[:2] == ("age_bucket", "city_index")
    # An unnamed raw feature keeps the view prefix.
    assert "user_behavior__price_sensitivity" in data.feature_columns
    assert data.to_numpy().dtype == np.float64  # every V2 output is numeric


@pytest.mark.parametrize(
    "service", [PricingAgentV1, PricingAgentV2], ids=lambda s: s.NAME
)
def test_training_rows_equal_online_vectors(client, service):
    ids = [1, 2, 3, 5, 8, 13, UNKNOWN_USER]
    at = now_utc()  # after every example row: training joins the latest, as online
    rows = {"user_id": ids, "event_time": [at] * len(ids)}
    training = client.get_training_data(service.NAME, rows, timeout=60).to_numpy()
    online = service.get(client, {"user_id": ids}, timeout=30).to_numpy()
    assert_same_cells(training, online)
    assert np.isnan(training[-1].astype(float)).any()  # the unknown user


def test_float_vectors_and_timestamps_match_online(client):
    refs = ["user_behavior:embedding", "user_profile:last_updated", "user_profile:age"]
    ids = [1, 2, UNKNOWN_USER]
    rows = {"user_id": ids, "event_time": [now_utc()] * len(ids)}
    arrays = client.get_training_data(refs, rows, timeout=60).feature_arrays()
    online = client.get_online_features(refs, {"user_id": ids}, timeout=30)
    emb = arrays["user_behavior__embedding"]
    assert emb.dtype == np.float32 and emb.shape == (
        3,
        online.columns[refs[0]].shape[1],
    )
    np.testing.assert_array_equal(emb[:2], online.columns[refs[0]][:2])
    assert np.isnan(emb[2]).all()
    np.testing.assert_array_equal(
        arrays["user_profile__last_updated"][:2], online.columns[refs[1]][:2]
    )
    assert np.isnat(arrays["user_profile__last_updated"][2])
    with pytest.raises(ValueError, match="float_vector"):
        client.get_training_data(refs, rows, timeout=60).to_numpy()


def test_entity_rows_without_event_time_are_invalid(client):
    with pytest.raises(floe.InvalidArgument, match="event_time"):
        client.get_training_data(PricingAgentV1.NAME, {"user_id": [1, 2]}, timeout=30)
    with pytest.raises(floe.InvalidArgument, match="event_time"):
        client.stream_training_data(PricingAgentV1.NAME, {"user_id": [1]}, timeout=30)


def test_a_null_event_time_is_invalid_and_named(client):
    rows = pa.table(
        {
            "user_id": pa.array([1, 2, 3], pa.int64()),
            "event_time": pa.array(
                [now_utc(), None, now_utc()], pa.timestamp("us", tz="UTC")
            ),
        }
    )
    with pytest.raises(floe.InvalidArgument, match="row 1 has a null event_time"):
        client.get_training_data(PricingAgentV1.NAME, rows, timeout=30)


def test_unknown_service_is_invalid(client):
    rows = {"user_id": [1], "event_time": [now_utc()]}
    with pytest.raises(floe.InvalidArgument, match="unknown feature service"):
        client.stream_training_data("no_such_service", rows, timeout=30)


def test_progress_reports_reading_then_writing(client, many_rows, capsys, monkeypatch):
    events: list[floe.RetrievalProgress] = []
    data = client.get_training_data(
        PricingAgentV1.NAME, many_rows, timeout=120, progress=events.append
    )
    assert data.table.num_rows == MANY
    reading = [i for i, e in enumerate(events) if e.phase == "reading"]
    writing = [e for e in events if e.phase == "writing"]
    assert {events[i].view for i in reading} == {"user_profile", "user_behavior"}
    assert writing and max(reading) < events.index(writing[0])
    assert [e.rows for e in writing] == sorted(e.rows for e in writing)
    assert writing[-1].rows == writing[-1].total_rows == MANY

    # Without tqdm, progress=True keeps a status line (tests/test_sdk_ergonomics.py
    # covers the tqdm bar).
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)
    client.get_training_data(PricingAgentV1.NAME, many_rows, timeout=120, progress=True)
    assert f"floe: sending rows: {MANY:,} of {MANY:,}\n" in capsys.readouterr().err
    with pytest.raises(TypeError, match="progress"):
        client.get_training_data(PricingAgentV1.NAME, many_rows, progress="yes")
