"""Integration tests against a real `floe serve` loaded with the pricing example.

Expectations are computed from the CSV files the server ingested: for each user
the latest row by event time, where an empty cell is a null.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import floe
from floe.features.pricing import PricingAgentV1
from floe.v1 import serving_pb2

pytestmark = pytest.mark.integration

PRESENT = serving_pb2.FEATURE_STATUS_PRESENT
NOT_FOUND = serving_pb2.FEATURE_STATUS_NOT_FOUND
NULL = serving_pb2.FEATURE_STATUS_NULL

UNKNOWN_USER = 987_654_321


def parse_time(s: str) -> np.datetime64:
    """Parses the CSV's RFC 3339 times and zone-less "YYYY-MM-DD hh:mm:ss" (UTC)."""
    t = dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
    if t.tzinfo is not None:
        t = t.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return np.datetime64(t, "us")


def latest_rows(path: Path) -> dict[int, dict[str, str]]:
    """The latest row of each user_id in a CSV, by event_time."""
    latest: dict[int, dict[str, str]] = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            uid = int(row["user_id"])
            prev = latest.get(uid)
            if prev is None or parse_time(row["event_time"]) > parse_time(
                prev["event_time"]
            ):
                latest[uid] = row
    return latest


def parse_cell(ref: str, cell: str):
    """A CSV cell as the value the server should return for feature ref."""
    dtype = PricingAgentV1.DTYPES.get(ref)
    if dtype is np.int64:
        return int(cell)
    if dtype is np.float64:
        return float(cell)
    if dtype is np.bool_:
        return {"true": True, "false": False}[cell]
    return cell


@pytest.fixture(scope="module")
def client(floe_server) -> Iterator[floe.Client]:
    with floe.Client(floe_server.url) as c:
        yield c


@pytest.fixture(scope="module")
def expected(floe_server) -> dict[str, dict[int, dict[str, str]]]:
    return {view: latest_rows(path) for view, path in floe_server.csv_files.items()}


def test_feature_order_is_the_generated_contract(client):
    feats = client.get_online_features("pricing_agent_v1", {"user_id": [1]}, timeout=30)
    assert feats.feature_names == PricingAgentV1.FEATURES


def test_known_users_match_the_latest_csv_rows(client, expected):
    users = sorted(set(expected["user_profile"]) & set(expected["user_behavior"]))
    assert len(users) > 100
    feats = PricingAgentV1.get(client, {"user_id": users}, timeout=30)
    assert feats.row_count == len(users)
    matrix = feats.to_numpy()
    assert matrix.shape == (len(users), len(PricingAgentV1.FEATURES))
    nulls = 0
    for j, ref in enumerate(PricingAgentV1.FEATURES):
        view, name = ref.split(":")
        col = feats.columns[ref]
        assert col.dtype == np.dtype(PricingAgentV1.DTYPES[ref]), ref
        for i, uid in enumerate(users):
            cell = expected[view][uid][name]
            status = feats.statuses[i, j]
            if cell == "":
                nulls += 1
                assert status == NULL, (ref, uid)
                assert np.isnan(matrix[i, j]), (ref, uid)
            else:
                want = parse_cell(ref, cell)
                assert status == PRESENT, (ref, uid, status)
                assert col[i] == want, (ref, uid)
                assert matrix[i, j] == want, (ref, uid)
    assert nulls > 0, "the example data should contain null cells"
    for view in ("user_profile", "user_behavior"):
        want_times = [parse_time(expected[view][uid]["event_time"]) for uid in users]
        np.testing.assert_array_equal(feats.event_times[view], want_times)
        assert (feats.snapshot_ids[view] != 0).all(), view
        assert np.isin(
            feats.tiers[view], [serving_pb2.TIER_L1, serving_pb2.TIER_ONLINE]
        ).all(), view


def test_vectors_and_timestamps_by_feature_refs(client, expected):
    users = sorted(expected["user_behavior"])[:50]
    refs = ["user_behavior:embedding", "user_profile:last_updated"]
    feats = client.get_online_features(refs, {"user_id": np.array(users)}, timeout=30)
    assert feats.feature_names == tuple(refs)
    emb = feats.columns["user_behavior:embedding"]
    assert emb.dtype == np.float32 and emb.shape == (len(users), 4)
    updated = feats.columns["user_profile:last_updated"]
    assert updated.dtype == np.dtype("datetime64[us]")
    for i, uid in enumerate(users):
        cell = expected["user_behavior"][uid]["embedding"]
        if cell:
            want = np.array([float(x) for x in cell.strip("[]").split(",")], np.float32)
            np.testing.assert_array_equal(emb[i], want)
            assert feats.statuses[i, 0] == PRESENT
        else:
            assert feats.statuses[i, 0] == NULL
        cell = expected["user_profile"][uid]["last_updated"]
        if cell:
            assert updated[i] == parse_time(cell), uid
    with pytest.raises(ValueError, match="columns"):
        feats.to_numpy()
    assert feats.to_numpy(dtype=object).shape == (len(users), 2)


def test_unknown_user_is_not_found(client, expected):
    known = min(expected["user_profile"])
    feats = client.get_online_features(
        "pricing_agent_v1", {"user_id": [known, UNKNOWN_USER]}, timeout=30
    )
    assert (feats.statuses[1] == NOT_FOUND).all()
    x = feats.to_numpy()
    assert all(np.isnan(v) for v in x[1])
    for view in ("user_profile", "user_behavior"):
        assert np.isnat(feats.event_times[view][1])
        assert feats.snapshot_ids[view][1] == 0


def test_unknown_service_is_invalid_argument(client):
    with pytest.raises(floe.InvalidArgument, match="no_such_service"):
        client.get_online_features("no_such_service", {"user_id": [1]}, timeout=30)


def test_string_id_for_int64_key_is_invalid_argument(client):
    with pytest.raises(floe.InvalidArgument) as info:
        client.get_online_features("pricing_agent_v1", {"user_id": ["1"]}, timeout=30)
    assert "user_id" in str(info.value)


def test_registry(client):
    reg = client.registry(timeout=30)
    services = {s.name: s for s in reg.feature_services}
    assert tuple(services["pricing_agent_v1"].features) == PricingAgentV1.FEATURES
    assert {v.name for v in reg.feature_views} == {"user_profile", "user_behavior"}
    assert [e.name for e in reg.entities] == ["user"]
    feats = client.get_online_features("pricing_agent_v1", {"user_id": [1]}, timeout=30)
    assert feats.registry_version == reg.version


def test_as_of_replays_pinned_snapshots_and_time(client):
    latest = client.get_online_features(PricingAgentV1.NAME, {"user_id": [1, 2]})
    pinned = {view: int(ids[0]) for view, ids in latest.snapshot_ids.items()}
    replay = client.get_online_features(
        PricingAgentV1.NAME, {"user_id": [1, 2]}, as_of=pinned
    )
    assert replay.feature_names == latest.feature_names
    np.testing.assert_array_equal(replay.statuses, latest.statuses)
    for name in latest.feature_names:
        np.testing.assert_array_equal(replay.columns[name], latest.columns[name])
    for view, tiers in replay.tiers.items():
        assert list(tiers) == [serving_pb2.TIER_OFFLINE] * 2, view

    long_ago = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)
    before = client.get_online_features(
        PricingAgentV1.NAME, {"user_id": [1]}, as_of=long_ago
    )
    assert (before.statuses == NOT_FOUND).all()


def test_diff_between_nothing_and_now_names_every_present_feature(client):
    before, after, changed = client.diff_features(
        PricingAgentV1.NAME,
        {"user_id": 1},
        from_=dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc),
    )
    assert (before.statuses == NOT_FOUND).all()
    present = [
        name
        for name, status in zip(after.feature_names, after.statuses[0])
        if status != NOT_FOUND
    ]
    assert list(changed) == present and present


def test_as_of_rejects_an_unknown_snapshot(client):
    with pytest.raises(floe.InvalidArgument, match="no snapshot"):
        client.get_online_features(
            ["user_profile:age"], {"user_id": [1]}, as_of={"user_profile": 42}
        )


def test_training_data_is_point_in_time_and_reproducible(client, expected):
    pa = pytest.importorskip("pyarrow")
    profiles = expected["user_profile"]
    user = next(iter(profiles))
    latest_time = parse_time(profiles[user]["event_time"]).astype("datetime64[us]").item()
    rows = pa.table(
        {
            "user_id": pa.array([user, user, UNKNOWN_USER], pa.int64()),
            "event_time": pa.array(
                [
                    latest_time - dt.timedelta(days=3650),
                    latest_time,
                    latest_time,
                ],
                pa.timestamp("us", tz="UTC"),
            ),
        }
    )
    table, manifest = client.get_training_data(["user_profile:age"], rows)
    assert manifest.entity_rows == 3 and manifest.snapshot_ids["user_profile"] != 0
    ages = table.column("user_profile__age").to_pylist()
    want = profiles[user]["age"]
    assert ages[0] is None  # ten years before: no value yet
    assert ages[1] == (int(want) if want else None)  # at the latest row's time: it
    assert ages[2] is None  # unknown entity
    again, _ = client.get_training_data(
        ["user_profile:age"], rows, snapshot_ids=manifest.snapshot_ids
    )
    assert again.equals(table)
