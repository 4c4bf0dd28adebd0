"""Training data from TrainingService.GetHistoricalFeatures, streamed.

The server answers one Arrow IPC stream cut into ``arrow_ipc_chunk`` messages,
then a ``DatasetManifest``. ``TrainingStream`` hands the chunks to pyarrow's
stream reader as they arrive, through a file-like object, so each record batch
is available as soon as its bytes are and memory holds about one batch however
large the dataset. ``TrainingData`` is a whole dataset in memory (a pyarrow
Table and its manifest, defined in floe.dataset) with numpy views in the
feature service's order.

Which columns are features: the stream's schema metadata names them
(``floe.feature_columns``, a JSON list in the service's order), and so does the
manifest (``columns``). With a server that sends neither, they are every column
except the request's own (join keys, ``event_time``, labels...) and the trailing
``<view>__event_time`` columns. Either way, the schemas this module hands out
carry ``floe.feature_columns``, so a table is self-describing.

Needs pyarrow (``pip install 'floe-features[training]'``).
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import grpc

from floe.dataset import (
    FEATURE_COLUMNS_KEY,
    TrainingData,
    feature_columns_of,
    with_feature_columns,
)
from floe.errors import FloeError, from_rpc_error
from floe.progress import ProgressCallback, RetrievalProgress, print_progress
from floe.spool import SpooledTrainingData
from floe.v1 import training_pb2

if TYPE_CHECKING:
    import pyarrow as pa

# TrainingData and FEATURE_COLUMNS_KEY live in floe.dataset, which floe.spool
# shares (so that neither imports the other), and RetrievalProgress and
# print_progress in floe.progress; they stay importable from here.
__all__ = [
    "FEATURE_COLUMNS_KEY",
    "RetrievalProgress",
    "TrainingData",
    "TrainingStream",
    "print_progress",
]


_PHASES = {
    training_pb2.RetrievalProgress.PHASE_QUEUED: "queued",
    training_pb2.RetrievalProgress.PHASE_READING: "reading",
    training_pb2.RetrievalProgress.PHASE_WRITING: "writing",
}


class _ResponseReader(io.RawIOBase):
    """A read-only file over the arrow_ipc_chunk messages of one call.

    The bytes are pulled from the gRPC stream only as the reader asks for them;
    the manifest message is kept when it passes. A failed call is raised as its
    FloeError and remembered in ``error``, since pyarrow may wrap it on the way
    out.
    """

    def __init__(
        self,
        responses: Iterator[training_pb2.GetHistoricalFeaturesResponse],
        on_progress: ProgressCallback | None = None,
    ):
        super().__init__()
        self._responses = responses
        self._on_progress = on_progress
        self._data = b""
        self._pos = 0
        self._offset = 0  # bytes handed out so far
        self.manifest: training_pb2.DatasetManifest | None = None
        self.error: FloeError | None = None

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._offset

    def _next_message(self) -> training_pb2.GetHistoricalFeaturesResponse | None:
        try:
            return next(self._responses)
        except StopIteration:
            return None
        except grpc.RpcError as err:
            self.error = from_rpc_error(err)
            raise self.error from err

    def _fill(self) -> bool:
        """Makes unread bytes available; False at the end of the Arrow bytes."""
        while self._pos == len(self._data):
            if self.manifest is not None:
                return False
            msg = self._next_message()
            if msg is None:
                return False
            which = msg.WhichOneof("payload")
            if which == "manifest":
                self.manifest = msg.manifest
            elif which == "arrow_ipc_chunk":
                self._data, self._pos = msg.arrow_ipc_chunk, 0
            elif which == "progress":
                if self._on_progress is not None:
                    TrainingStream.report(msg.progress, self._on_progress)
            else:
                self.error = FloeError(
                    f"unexpected GetHistoricalFeatures message ({which}); "
                    "update the client"
                )
                raise self.error
        return True

    def read(self, size: int | None = -1) -> bytes:
        parts: list[bytes | memoryview] = []
        want = -1 if size is None or size < 0 else size
        while want != 0 and self._fill():
            left = len(self._data) - self._pos
            take = left if want < 0 else min(want, left)
            if take == len(self._data):
                parts.append(self._data)  # the whole message: no copy
            else:
                parts.append(memoryview(self._data)[self._pos : self._pos + take])
            self._pos += take
            if want > 0:
                want -= take
        self._offset += sum(len(p) for p in parts)
        if len(parts) == 1 and isinstance(parts[0], bytes):
            return parts[0]
        return b"".join(parts)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def finish(self) -> training_pb2.DatasetManifest:
        """Reads to the end of the call and returns the manifest.

        Raises FloeError if Arrow bytes follow the end of the Arrow stream, if
        anything follows the manifest, or if there is no manifest.
        """
        if self._fill():
            self.error = FloeError(
                "the server sent bytes after the end of the Arrow stream"
            )
            raise self.error
        if self.manifest is None:
            self.error = FloeError(
                "the training data stream ended without its manifest (truncated)"
            )
            raise self.error
        if self._next_message() is not None:
            self.error = FloeError("the server sent messages after the manifest")
            raise self.error
        return self.manifest


@dataclasses.dataclass(frozen=True)
class EntityTable:
    """Entity rows stored in an Iceberg table of the server's catalog.

    Pass it (or just the "namespace.table" string) as the entity rows of
    ``Client.get_training_data`` and friends: the server reads the table itself
    — labelled events another engine wrote, say — instead of the client sending
    the rows. The table needs the same columns as inline rows (join keys and an
    ``event_time`` timestamp); its other columns come back unchanged.

    Attributes:
        table: "namespace.table".
        snapshot_id: The snapshot to read; 0 reads the current one, which the
            manifest's ``entity_table`` then pins.
    """

    table: str
    snapshot_id: int = 0


class TrainingStream:
    """The record batches of a GetHistoricalFeatures call, as they arrive.

    Iterate it for pyarrow RecordBatches (about 64k rows each); the manifest is
    available once the last batch was read. The stream holds no more than the
    batch being read (and the request until the call ends). Created by ``Client.stream_training_data``; close it (or use it
    as a context manager) to cancel a call you stop reading early.

    Attributes:
        schema: The Arrow schema: the request's columns, then the feature
            columns in the service's order, then ``<view>__event_time`` per view.
            Its metadata carries ``floe.feature_columns``, ``floe.spec_hash``,
            ``floe.snapshots`` (JSON view → snapshot id), ``floe.registry_version``
            and ``floe.feature_service``.
        feature_columns: The feature columns' names, in the service's order.
        request_columns: The columns of the entity rows sent (None when the
            server read them from an entity table).
        num_rows: Number of entity rows sent, hence of rows the stream holds
            (None when the server read them from an entity table).
        rows_read: Rows handed out so far.
    """

    schema: pa.Schema
    feature_columns: tuple[str, ...]
    request_columns: tuple[str, ...] | None
    num_rows: int | None
    rows_read: int

    def __init__(
        self,
        call: Any,
        request_columns: Sequence[str] | None,
        num_rows: int | None,
        progress: ProgressCallback | None = None,
    ) -> None:
        """Starts reading call (the response iterator of GetHistoricalFeatures)
        and waits for the schema, telling progress (if set) what the server
        reports meanwhile and as the rows come.

        Raises:
            FloeError: The call failed (InvalidArgument for a bad request, e.g.
                entity rows without an event_time column), or the answer is not
                an Arrow stream.
        """
        import pyarrow as pa

        self._call = call
        self._source = _ResponseReader(call, progress)
        self.request_columns = (
            tuple(request_columns) if request_columns is not None else None
        )
        self.num_rows = num_rows
        self.rows_read = 0
        self._manifest: training_pb2.DatasetManifest | None = None
        self._done = False
        try:
            self._reader = self._guard(lambda: pa.ipc.open_stream(self._source))
            received = self._reader.schema
            self.feature_columns = feature_columns_of(received, self.request_columns)
        except BaseException:
            self.close()
            raise
        self._patch = FEATURE_COLUMNS_KEY not in (received.metadata or {})
        self.schema = (
            with_feature_columns(received, self.feature_columns)
            if self._patch
            else received
        )

    @staticmethod
    def report(p: training_pb2.RetrievalProgress, to: ProgressCallback) -> None:
        """Hands a RetrievalProgress message to a progress callback."""
        to(RetrievalProgress(_PHASES.get(p.phase, "unknown"), p.view, p.rows, p.total_rows))

    def _guard(self, fn: Any) -> Any:
        """Runs a pyarrow read, raising the call's FloeError rather than
        pyarrow's wrapping of it, and malformed bytes as a FloeError."""
        import pyarrow as pa

        try:
            return fn()
        except StopIteration:
            raise
        except FloeError:
            raise
        except Exception as err:
            if self._source.error is not None:
                raise self._source.error from err
            if isinstance(err, (pa.ArrowException, OSError)):
                raise FloeError(
                    f"the server's training data is not a valid Arrow stream: {err}"
                ) from err
            raise

    @property
    def manifest(self) -> training_pb2.DatasetManifest:
        """The dataset manifest, sent after the last batch.

        Raises:
            RuntimeError: The stream has not been read to its end yet.
        """
        if self._manifest is None:
            raise RuntimeError(
                "the manifest follows the last record batch; read the stream to "
                "its end first"
            )
        return self._manifest

    @property
    def done(self) -> bool:
        """True once every batch was read and the manifest checked."""
        return self._done

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        return self

    def __next__(self) -> pa.RecordBatch:
        return self.read_next_batch()

    def read_next_batch(self) -> pa.RecordBatch:
        """Returns the next record batch.

        Raises:
            StopIteration: The stream ended (the manifest is then available).
            FloeError: The call failed, or the stream is malformed or truncated.
        """
        if self._done:
            raise StopIteration
        try:
            batch = self._guard(self._reader.read_next_batch)
        except StopIteration:
            self._finish()
            raise
        self.rows_read += batch.num_rows
        if self._patch:
            batch = batch.replace_schema_metadata(self.schema.metadata)
        return batch

    def _finish(self) -> None:
        manifest = self._source.finish()
        if manifest.entity_rows != self.rows_read:
            raise FloeError(
                f"the stream held {self.rows_read} rows but its manifest says "
                f"{manifest.entity_rows}"
            )
        if manifest.columns and tuple(manifest.columns) != self.feature_columns:
            raise FloeError(
                f"the manifest's feature columns {list(manifest.columns)} differ from "
                f"the stream's {list(self.feature_columns)}"
            )
        self._manifest = manifest
        self._done = True

    def read_all(self) -> TrainingData:
        """Reads the remaining batches into one table; returns it with the manifest."""
        import pyarrow as pa

        batches = list(self)
        return TrainingData(pa.Table.from_batches(batches, self.schema), self.manifest)

    def spool(
        self, directory: str | None = None, *, path: str | None = None
    ) -> SpooledTrainingData:
        """Writes the remaining batches to an Arrow file and memory-maps it.

        See floe.spool.SpooledTrainingData. directory defaults to the system's
        temporary directory; path names the file instead, which is then kept.
        """
        return SpooledTrainingData.from_stream(self, directory=directory, path=path)

    def close(self) -> None:
        """Cancels the call if it is still running, and finishes a progress bar."""
        cancel = getattr(self._call, "cancel", None)
        if cancel is not None and not self._done:
            cancel()
        finish = getattr(self._source._on_progress, "close", None)
        if finish is not None:
            finish()

    def __enter__(self) -> TrainingStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"TrainingStream(rows={self.rows_read}/{self.num_rows}, "
            f"features={list(self.feature_columns)})"
        )
