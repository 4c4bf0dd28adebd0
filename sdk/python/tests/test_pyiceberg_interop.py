"""Interoperability with pyiceberg, another engine on the same Iceberg tables.

A real `floe` (example-data, ingest, serve, materialize) runs on the SQL catalog
(a SQLite file) with a local warehouse under a temporary directory; pyiceberg's
SqlCatalog opens the same SQLite file and warehouse. pyiceberg reads what Floe
committed, and rows pyiceberg appends to a table Floe created are served online,
with pyiceberg's snapshot id, once `floe materialize --server` has run.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from pyiceberg.catalog.sql import SqlCatalog

import floe
from floe.v1 import serving_pb2

# The session fixture's helpers: the same binary, environment, bounded steps and
# readiness polling as every other integration test.
from conftest import REPO, _clean_env, _floe_bin, _free_port, _run, _wait_ready

pytestmark = pytest.mark.integration

PRESENT = serving_pb2.FEATURE_STATUS_PRESENT
NULL = serving_pb2.FEATURE_STATUS_NULL

# The name Floe records its tables under in the SQL catalog (offline.DefaultCatalogName);
# another engine must open the catalog under the same name to see them.
CATALOG_NAME = "floe"
VIEWS = ("user_profile", "user_behavior")
NEW_USER = 900_001


@dataclasses.dataclass(frozen=True)
class InteropServer:
    """`floe serve` on the SQL catalog, with the pricing example ingested."""

    floe: str
    env: dict[str, str]
    url: str
    config_path: Path
    log_path: Path
    catalog_db: Path
    warehouse: Path
    csv_files: dict[str, Path]  # view → CSV Floe ingested
    snapshots: dict[str, int]  # view → the snapshot that ingest committed


def _log(server: InteropServer) -> str:
    return "floe serve log:\n" + server.log_path.read_text(errors="replace")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InteropServer]:
    """A server of its own: test_appended_rows_are_served changes its tables."""
    floe_bin = str(_floe_bin())
    # Following snapshots is off so that only `floe materialize` publishes what
    # pyiceberg commits, which is what the test shows.
    env = {**_clean_env(), "FLOE_MATERIALIZE_FOLLOW": "false"}
    root = tmp_path_factory.mktemp("interop")
    data = root / "data"
    address = f"127.0.0.1:{_free_port()}"
    url = f"http://{address}"
    config = root / "floe.yaml"
    config.write_text(
        f"listen: {address}\n"
        f"specs: {REPO / 'specs' / 'examples' / 'pricing'}\n"
        f"data_dir: {data}\n"
        "catalog:\n"
        "  type: sql\n"
        "online:\n"
        "  type: memory\n"
    )
    out = _run(
        [floe_bin, "example-data", "--project", "pricing", "--out", str(root / "csv"), "--rows", "200"],
        env,
    )
    csv_files = dict(line.split(maxsplit=1) for line in out.splitlines() if line.strip())
    assert set(csv_files) == set(VIEWS), out
    snapshots = {}
    for view in VIEWS:
        out = _run(
            [floe_bin, "ingest", "--config", str(config), "--view", view, "--file", csv_files[view]],
            env,
        )
        found = re.search(r"snapshot (\d+)", out)
        assert found, f"floe ingest did not name the snapshot it committed: {out!r}"
        snapshots[view] = int(found.group(1))

    log_path = root / "server.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [floe_bin, "serve", "--config", str(config)], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        _wait_ready(url, proc, log_path)
        _run([floe_bin, "materialize", "--config", str(config), "--server", url], env)
        yield InteropServer(
            floe=floe_bin,
            env=env,
            url=url,
            config_path=config,
            log_path=log_path,
            # The embedded defaults under data_dir (config.Catalog).
            catalog_db=data / "catalog.db",
            warehouse=data / "warehouse",
            csv_files={v: Path(p) for v, p in csv_files.items()},
            snapshots=snapshots,
        )
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


@pytest.fixture
def catalog(server: InteropServer) -> SqlCatalog:
    """pyiceberg's SQL catalog on Floe's SQLite file and warehouse."""
    return SqlCatalog(
        CATALOG_NAME,
        uri=f"sqlite:///{server.catalog_db}",
        warehouse=f"file://{server.warehouse}",
        # Floe created the catalog's tables; pyiceberg must use them as they are.
        init_catalog_tables="false",
    )


def _parse(cell: str, typ: pa.DataType):
    """A CSV cell of `floe example-data` as the Python value Arrow holds for it."""
    if cell == "":
        return None
    if pa.types.is_timestamp(typ):
        t = dt.datetime.fromisoformat(cell)
        return t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)
    if pa.types.is_int64(typ):
        return int(cell)
    if pa.types.is_float64(typ):
        return float(cell)
    if pa.types.is_boolean(typ):
        return {"true": True, "false": False}[cell]
    if pa.types.is_list(typ):
        return [float(np.float32(x)) for x in cell.strip("[]").split(",")]
    assert pa.types.is_string(typ), typ
    return cell


@pytest.mark.parametrize("view", VIEWS)
def test_pyiceberg_reads_what_floe_wrote(server: InteropServer, catalog: SqlCatalog, view: str):
    tbl = catalog.load_table(f"pricing.{view}")
    snap = tbl.snapshot_by_id(server.snapshots[view])
    assert snap is not None, f"pyiceberg does not see snapshot {server.snapshots[view]} of {view}"
    assert snap.summary is not None and snap.summary.operation.value == "append"

    got = tbl.scan(snapshot_id=snap.snapshot_id).to_arrow()
    with open(server.csv_files[view], newline="") as f:
        rows = list(csv.DictReader(f))
    assert got.num_rows == len(rows) == int(snap.summary["added-records"])
    assert got.column_names == list(rows[0].keys())
    assert got.schema.field("user_id").type == pa.int64()
    assert got.schema.field("event_time").type == pa.timestamp("us", tz="UTC")

    # Every row, every column, matched by (user_id, event_time): Floe sorts what
    # it writes, so file order is not table order.
    types = {f.name: f.type for f in got.schema}
    want = {
        (int(r["user_id"]), _parse(r["event_time"], types["event_time"])): {
            k: _parse(v, types[k]) for k, v in r.items()
        }
        for r in rows
    }
    have = {(r["user_id"], r["event_time"]): r for r in got.to_pylist()}
    assert have.keys() == want.keys()
    for key, row in want.items():
        assert have[key] == row, key


def test_appended_rows_are_served(server: InteropServer, catalog: SqlCatalog):
    view = "user_behavior"
    tbl = catalog.load_table(f"pricing.{view}")
    with open(server.csv_files[view], newline="") as f:
        old_user = int(next(csv.DictReader(f))["user_id"])
    # Later than every example row (all in the hours before the fixture ran),
    # inside the view's 7-day TTL.
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    appended = [
        {
            "user_id": old_user,
            "event_time": now,
            "sessions_7d": 4242,
            "purchases_30d": 17,
            "avg_order_value_30d": 123.25,
            "cart_abandon_rate_7d": 0.5,
            "price_sensitivity": 0.125,
            "is_premium": True,
            "embedding": [0.5, -1.25, 2.0, 0.0],
        },
        {
            "user_id": NEW_USER,
            "event_time": now,
            "sessions_7d": 7,
            "purchases_30d": None,
            "avg_order_value_30d": 9.5,
            "cart_abandon_rate_7d": 0.0,
            "price_sensitivity": 1.0,
            "is_premium": False,
            "embedding": [1.0, 2.0, 3.0, 4.0],
        },
    ]
    tbl.append(pa.Table.from_pylist(appended, schema=tbl.schema().as_arrow()))
    snap = tbl.current_snapshot()
    assert snap is not None and snap.parent_snapshot_id is not None
    pyiceberg_snapshot = snap.snapshot_id
    assert pyiceberg_snapshot != server.snapshots[view]

    refs = [
        f"{view}:{name}"
        for name in (
            "sessions_7d",
            "purchases_30d",
            "avg_order_value_30d",
            "cart_abandon_rate_7d",
            "price_sensitivity",
            "is_premium",
            "embedding",
        )
    ]
    with floe.Client(server.url) as client:
        # Not served yet: the online store holds what Floe materialized, and
        # nothing follows the table in this server.
        before = client.get_online_features(refs, {"user_id": [old_user]}, timeout=30)
        assert before.snapshot_ids[view][0] == server.snapshots[view], _log(server)
        assert before.columns[f"{view}:sessions_7d"][0] != 4242

        _run(
            [server.floe, "materialize", "--config", str(server.config_path), "--server", server.url],
            server.env,
        )

        feats = client.get_online_features(refs, {"user_id": [old_user, NEW_USER]}, timeout=30)
    assert list(feats.snapshot_ids[view]) == [pyiceberg_snapshot, pyiceberg_snapshot], _log(server)
    assert np.isin(feats.tiers[view], [serving_pb2.TIER_L1, serving_pb2.TIER_ONLINE]).all()
    want_time = np.datetime64(now.replace(tzinfo=None), "us")
    assert list(feats.event_times[view]) == [want_time, want_time]
    for i, row in enumerate(appended):
        for j, ref in enumerate(refs):
            name = ref.split(":")[1]
            value, col = row[name], feats.columns[ref]
            if value is None:
                assert feats.statuses[i, j] == NULL, (row["user_id"], ref)
                continue
            assert feats.statuses[i, j] == PRESENT, (row["user_id"], ref)
            if name == "embedding":
                np.testing.assert_array_equal(col[i], np.array(value, np.float32))
            else:
                assert col[i] == value, (row["user_id"], ref)


def test_entity_rows_from_an_iceberg_table(server: InteropServer, catalog: SqlCatalog):
    """Labelled events another engine wrote to Iceberg are the entity rows of a
    training set: the server reads the table itself, pins its snapshot in the
    manifest, and answers as for the same rows sent inline."""
    from pyiceberg.schema import Schema
    from pyiceberg.types import LongType, NestedField, TimestamptzType

    schema = Schema(
        NestedField(1, "user_id", LongType(), required=False),
        NestedField(2, "event_time", TimestamptzType(), required=False),
        NestedField(3, "converted", LongType(), required=False),
    )
    tbl = catalog.create_table("pricing.quotes", schema=schema)
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    rows = pa.table(
        {
            "user_id": pa.array([1, 2, 3, 999_999], pa.int64()),
            "event_time": pa.array(
                [now, now - dt.timedelta(hours=1), now, now], pa.timestamp("us", "UTC")
            ),
            "converted": pa.array([1, 0, 1, 0], pa.int64()),
        }
    )
    tbl.append(rows)
    first = tbl.current_snapshot().snapshot_id
    service = "pricing_agent_v2"
    with floe.Client(server.url) as client:
        from_table = client.get_training_data(service, "pricing.quotes")
        m = from_table.manifest
        assert m.entity_table.table == "pricing.quotes"
        assert m.entity_table.snapshot_id == first
        assert m.entity_rows == 4
        inline = client.get_training_data(service, rows, snapshot_ids=m.snapshot_ids)
        assert from_table.feature_names == inline.feature_names
        np.testing.assert_array_equal(from_table.to_numpy(), inline.to_numpy())
        np.testing.assert_array_equal(from_table.column("converted"), [1, 0, 1, 0])

        # Rows appended later do not change a pinned rebuild.
        tbl.append(rows.slice(0, 1))
        pinned = client.get_training_data(
            service,
            floe.EntityTable("pricing.quotes", first),
            snapshot_ids=m.snapshot_ids,
        )
        assert pinned.table.equals(from_table.table)
        assert client.get_training_data(service, "pricing.quotes").manifest.entity_rows == 5

        # The same rows as a Keras dataset, labels taken from the table.
        from floe.keras_data import TrainingDataset

        with TrainingDataset.fetch(
            client,
            service,
            floe.EntityTable("pricing.quotes", first),
            labels="converted",
            batch_size=2,
            snapshot_ids=m.snapshot_ids,
        ) as ds:
            assert len(ds) == 2
            x, y = ds[1]
            np.testing.assert_array_equal(y, [1, 0])
            np.testing.assert_array_equal(x, from_table.to_numpy()[2:].astype(x.dtype))

        with pytest.raises(floe.InvalidArgument, match="pricing.nope"):
            client.get_training_data(service, "pricing.nope")
        with pytest.raises(floe.InvalidArgument, match="snapshot"):
            client.get_training_data(service, floe.EntityTable("pricing.quotes", 12345))
