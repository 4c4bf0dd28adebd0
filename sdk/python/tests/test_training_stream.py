"""Unit tests of streamed training data, against an in-process fake server.

The fake TrainingService answers like the Go server (an Arrow IPC stream cut
into arrow_ipc_chunk messages, then the manifest), with knobs the real server
has no reason to turn: tiny chunks that split Arrow messages anywhere, a pause
after the first batch, a missing manifest, a failure half-way, garbage.
"""

from __future__ import annotations

import json
import os
import pickle
import threading
from collections.abc import Callable, Iterator
from concurrent import futures

import grpc
import numpy as np
import pytest

pa = pytest.importorskip("pyarrow")

import floe  # noqa: E402
from floe import (
    Client,
    FloeError,
    InvalidArgument,
    TrainingData,
    Unavailable,
)  # noqa: E402
from floe.v1 import training_pb2, training_pb2_grpc  # noqa: E402

# Bound on waiting for the other side of a handshake; reached only on failure.
HANDSHAKE_TIMEOUT_S = 30

FEATURES = ["v:a", "w:score_out"]
COLUMNS = ["v__a", "score_out"]

Scenario = Callable[
    [training_pb2.GetHistoricalFeaturesRequest, grpc.ServicerContext],
    Iterator[training_pb2.GetHistoricalFeaturesResponse],
]


def join(entities: pa.Table, *, with_metadata: bool = True) -> pa.Table:
    """What the server would answer: the entity columns, the features, then
    one event time per view. v__a is null for odd user ids."""
    uid = entities.column("user_id").to_numpy()
    a = pa.array([None if u % 2 else int(u) * 10 for u in uid], pa.int64())
    score = pa.array(uid / 4.0, pa.float64())
    times = entities.column("event_time").cast(pa.timestamp("us", tz="UTC"))
    metadata = {b"floe.spec_hash": b"abc", b"floe.feature_service": b"svc"}
    if with_metadata:
        metadata[b"floe.feature_columns"] = json.dumps(COLUMNS).encode()
    return pa.table(
        list(entities.columns) + [a, score, times, times],
        names=entities.column_names + COLUMNS + ["v__event_time", "w__event_time"],
        metadata=metadata,
    )


def ipc_bytes(table: pa.Table, batch_rows: int) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        for batch in table.to_batches(max_chunksize=batch_rows):
            writer.write_batch(batch)
    return sink.getvalue().to_pybytes()


def chunks(
    data: bytes, size: int
) -> Iterator[training_pb2.GetHistoricalFeaturesResponse]:
    for i in range(0, len(data), size):
        yield training_pb2.GetHistoricalFeaturesResponse(
            arrow_ipc_chunk=data[i : i + size]
        )


def manifest_for(
    table: pa.Table, **overrides
) -> training_pb2.GetHistoricalFeaturesResponse:
    fields = dict(
        snapshot_ids={"v": 11, "w": 22},
        spec_hash="abc",
        feature_service="svc",
        features=FEATURES,
        columns=COLUMNS,
        entity_rows=table.num_rows,
    )
    fields.update(overrides)
    return training_pb2.GetHistoricalFeaturesResponse(
        manifest=training_pb2.DatasetManifest(**fields)
    )


def entities_of(request) -> pa.Table:
    return pa.ipc.open_stream(request.entity_rows_arrow_ipc).read_all()


def normal(
    *, chunk: int = 7, batch_rows: int = 2, with_metadata: bool = True, **manifest
) -> Scenario:
    def scenario(request, context):
        table = join(entities_of(request), with_metadata=with_metadata)
        yield from chunks(ipc_bytes(table, batch_rows), chunk)
        yield manifest_for(table, **manifest)

    return scenario


class FakeTraining(training_pb2_grpc.TrainingServiceServicer):
    scenario: Scenario = staticmethod(normal())

    def GetHistoricalFeatures(self, request, context):
        yield from self.scenario(request, context)


@pytest.fixture(scope="module")
def fake() -> Iterator[tuple[FakeTraining, str]]:
    servicer = FakeTraining()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    training_pb2_grpc.add_TrainingServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield servicer, f"127.0.0.1:{port}"
    server.stop(grace=None)


@pytest.fixture
def client(fake) -> Iterator[Client]:
    with Client(fake[1]) as c:
        yield c


def use(fake, scenario: Scenario) -> None:
    fake[0].scenario = scenario


ROWS = {
    "user_id": [1, 2, 3, 4, 5],
    "event_time": pa.array(
        [1_000_000 * i for i in range(5)], pa.timestamp("us", tz="UTC")
    ),
    "label": [0.5, 1.5, 2.5, 3.5, 4.5],
}


def test_small_chunks_split_anywhere_rebuild_the_table(fake, client):
    entities = pa.table(ROWS)
    want = join(entities)
    for chunk in (1, 5, 7, 64, 1 << 20):
        use(fake, normal(chunk=chunk))
        with client.stream_training_data("svc", entities, timeout=30) as stream:
            batches = list(stream)
        assert [b.num_rows for b in batches] == [2, 2, 1]
        assert pa.Table.from_batches(batches).equals(want), chunk
        assert stream.manifest.entity_rows == 5


def test_batches_are_available_before_the_stream_ends(fake, client):
    first_read = threading.Event()
    rest_sent = threading.Event()

    def paused(request, context):
        table = join(entities_of(request))
        stream_bytes = ipc_bytes(table, 2)
        # The schema and first batch, exactly, then wait for the client to read it.
        reader = pa.ipc.open_stream(stream_bytes)
        head = pa.BufferOutputStream()
        with pa.ipc.new_stream(head, table.schema) as w:
            w.write_batch(reader.read_next_batch())
        head_bytes = head.getvalue().to_pybytes()[
            :-8
        ]  # without the end-of-stream marker
        assert stream_bytes.startswith(head_bytes)
        yield from chunks(head_bytes, 3)
        assert first_read.wait(HANDSHAKE_TIMEOUT_S), "client never read the first batch"
        yield from chunks(stream_bytes[len(head_bytes) :], 3)
        rest_sent.set()
        yield manifest_for(table)

    use(fake, paused)
    with client.stream_training_data("svc", pa.table(ROWS), timeout=60) as stream:
        first = stream.read_next_batch()
        assert not rest_sent.is_set()
        assert first.column("user_id").to_pylist() == [1, 2]
        with pytest.raises(RuntimeError, match="read the stream to its end"):
            stream.manifest
        first_read.set()
        rest = list(stream)
    assert sum(b.num_rows for b in rest) == 3
    assert stream.manifest.snapshot_ids == {"v": 11, "w": 22}


def test_schema_and_feature_columns_are_known_before_the_first_batch(fake, client):
    use(fake, normal())
    with client.stream_training_data("svc", pa.table(ROWS), timeout=30) as stream:
        assert stream.rows_read == 0
        assert stream.feature_columns == tuple(COLUMNS)
        assert stream.request_columns == ("user_id", "event_time", "label")
        assert stream.num_rows == 5
        assert stream.schema.names[3:5] == COLUMNS


def test_without_metadata_feature_columns_fall_back_to_the_layout(fake, client):
    # A server predating floe.feature_columns: everything but the request's
    # columns (including the label) and the trailing <view>__event_time ones.
    use(fake, normal(with_metadata=False, columns=[]))
    with client.stream_training_data("svc", pa.table(ROWS), timeout=30) as stream:
        assert stream.feature_columns == tuple(COLUMNS)
        batches = list(stream)
    # What the SDK hands out says so itself.
    assert json.loads(stream.schema.metadata[b"floe.feature_columns"]) == COLUMNS
    assert all(b.schema.metadata == stream.schema.metadata for b in batches)
    data = client.get_training_data("svc", pa.table(ROWS), timeout=30)
    assert data.feature_columns == tuple(COLUMNS)


def test_get_training_data_is_still_a_table_manifest_pair(fake, client):
    use(fake, normal())
    data = client.get_training_data("svc", ROWS, timeout=30)
    table, manifest = data
    assert isinstance(data, TrainingData) and isinstance(data, tuple)
    assert table.equals(join(pa.table(ROWS)))
    assert manifest.entity_rows == 5 and data.num_rows == 5
    assert data.feature_names == ("v:a", "score_out")
    np.testing.assert_array_equal(
        data.to_numpy(),
        [[np.nan, 0.25], [20.0, 0.5], [np.nan, 0.75], [40.0, 1.0], [np.nan, 1.25]],
    )
    assert list(data.feature_arrays()) == COLUMNS
    np.testing.assert_array_equal(data.column("label"), ROWS["label"])


def test_manifest_columns_must_match_the_stream(fake, client):
    use(fake, normal(columns=["score_out", "v__a"]))
    with pytest.raises(FloeError, match="differ from the stream"):
        client.get_training_data("svc", ROWS, timeout=30)


@pytest.mark.parametrize(
    "scenario, message",
    [
        (
            lambda request, context: chunks(
                ipc_bytes(join(entities_of(request)), 2), 64
            ),
            "without its manifest",
        ),
        (normal(entity_rows=6), "held 5 rows but its manifest says 6"),
        (
            lambda request, context: iter(
                [
                    training_pb2.GetHistoricalFeaturesResponse(
                        arrow_ipc_chunk=b"not arrow at all"
                    )
                ]
            ),
            "not a valid Arrow stream",
        ),
    ],
    ids=["no-manifest", "row-count", "garbage"],
)
def test_malformed_answers_are_floe_errors(fake, client, scenario, message):
    use(fake, scenario)
    with pytest.raises(FloeError, match=message):
        client.get_training_data("svc", ROWS, timeout=30)


def test_a_bad_request_fails_when_the_stream_is_opened(fake, client):
    def refuse(request, context):
        context.abort(
            grpc.StatusCode.INVALID_ARGUMENT,
            'entity rows need exactly one "event_time" column',
        )
        yield  # pragma: no cover

    use(fake, refuse)
    with pytest.raises(InvalidArgument, match="event_time") as info:
        client.stream_training_data("svc", {"user_id": [1]}, timeout=30)
    assert isinstance(info.value.__cause__, grpc.RpcError)


def test_a_failure_half_way_is_the_calls_error_not_pyarrows(fake, client):
    def fail_after_first_batch(request, context):
        table = join(entities_of(request))
        data = ipc_bytes(table, 2)
        yield from chunks(data[: len(data) // 2], 16)
        context.abort(grpc.StatusCode.UNAVAILABLE, "warehouse unreachable")

    use(fake, fail_after_first_batch)
    with client.stream_training_data("svc", ROWS, timeout=30) as stream:
        with pytest.raises(Unavailable, match="warehouse unreachable"):
            list(stream)


def test_closing_a_stream_early_cancels_the_call(fake, client):
    cancelled = threading.Event()

    def endless(request, context):
        context.add_callback(cancelled.set)
        data = ipc_bytes(join(entities_of(request)), 1)
        yield from chunks(
            data[:-8], 4
        )  # never the end-of-stream marker nor the manifest
        cancelled.wait(HANDSHAKE_TIMEOUT_S)

    use(fake, endless)
    stream = client.stream_training_data("svc", ROWS, timeout=60)
    stream.read_next_batch()
    stream.close()
    assert cancelled.wait(HANDSHAKE_TIMEOUT_S)


def test_spool_reads_any_rows_back_from_the_file(fake, client, tmp_path):
    use(fake, normal(batch_rows=2))
    rows = {
        "user_id": list(range(1, 12)),
        "event_time": pa.array(range(11), pa.timestamp("s")),
    }
    want = join(pa.table(rows))
    with client.stream_training_data("svc", rows, timeout=30) as stream:
        spool = stream.spool(str(tmp_path))
    path = spool.path
    assert os.path.dirname(path) == str(tmp_path)
    # The file holds the whole dataset; another reader sees it all.
    with pa.memory_map(path) as f:
        assert pa.ipc.open_file(f).read_all().equals(want)
    assert spool.num_rows == 11 and spool.num_batches == 6 and len(spool) == 11
    assert spool.feature_columns == tuple(COLUMNS)
    assert spool.manifest.entity_rows == 11
    assert spool.slice(3, 8).equals(want.slice(3, 5))  # across three batches
    assert spool.slice(0, 11).equals(want)
    assert spool.take([10, 0, 5, 5, 1]).equals(want.take([10, 0, 5, 5, 1]))
    assert spool.to_training_data().table.equals(want)
    # A pickled copy (a worker process) maps the same file and does not delete it.
    copy = pickle.loads(pickle.dumps(spool))
    assert copy.take([7]).equals(want.take([7]))
    del copy
    assert os.path.exists(path)
    spool.close()
    assert not os.path.exists(path)


def test_spooled_rows_are_read_from_the_file_not_memory(fake, client, tmp_path):
    use(fake, normal(batch_rows=4))
    marker = 1234.5678
    rows = dict(ROWS, label=[0.0, 0.0, marker, 0.0, 0.0])
    with client.stream_training_data("svc", rows, timeout=30) as stream:
        spool = stream.spool(str(tmp_path))
    # Rewrite the marker in the file: the spool, which maps it, sees the change.
    raw = open(spool.path, "rb").read()
    at = raw.index(np.float64(marker).tobytes())
    with open(spool.path, "r+b") as f:
        f.seek(at)
        f.write(np.float64(-1.0).tobytes())
    assert spool.slice(2, 3).column("label").to_pylist() == [-1.0]
    spool.close()


def test_a_kept_spool_path_survives_close(fake, client, tmp_path):
    use(fake, normal())
    path = str(tmp_path / "train.arrow")
    with client.stream_training_data("svc", ROWS, timeout=30) as stream:
        with stream.spool(path=path) as spool:
            assert spool.path == path
    assert os.path.exists(path)


def test_a_failed_spool_leaves_no_file(fake, client, tmp_path):
    def fail(request, context):
        data = ipc_bytes(join(entities_of(request)), 2)
        yield from chunks(data[: len(data) - 40], 16)
        context.abort(grpc.StatusCode.INTERNAL, "boom")

    use(fake, fail)
    with client.stream_training_data("svc", ROWS, timeout=30) as stream:
        with pytest.raises(floe.FloeError, match="boom"):
            stream.spool(str(tmp_path))
    assert list(tmp_path.iterdir()) == []
