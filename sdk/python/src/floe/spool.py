"""Training data spooled to disk for random access over many epochs.

``SpooledTrainingData`` writes a ``TrainingStream``'s batches to an Arrow IPC
file as they arrive and memory-maps it: any row range or set of rows can then be
read again (each epoch, in any order) without asking the server a second time,
and the process holds about one batch while spooling. Reads are zero-copy views
of the mapped file; the pages they touch are the operating system's page cache,
which it evicts under pressure, not the process's heap.

The file is the Arrow IPC file format, so other tools (pyarrow.ipc.open_file,
DuckDB, Polars) can read it; its schema metadata names the feature columns
(``floe.feature_columns``).
"""

from __future__ import annotations

import os
import tempfile
import weakref
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import numpy.typing as npt

from floe.columns import declared_dims, is_vector, vector_dims
from floe.errors import FloeError
from floe.dataset import TrainingData, feature_columns_of, feature_names_of
from floe.v1 import training_pb2

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["SpooledTrainingData"]


class BatchStream(Protocol):
    """What spooling reads: a training stream's schema, its batches, then its
    manifest (``floe.training.TrainingStream`` is one; this module does not
    import it, so that ``floe.training`` can import this one)."""

    @property
    def schema(self) -> pa.Schema: ...

    @property
    def feature_columns(self) -> tuple[str, ...]: ...

    @property
    def manifest(self) -> training_pb2.DatasetManifest: ...

    def __iter__(self) -> Iterator[pa.RecordBatch]: ...


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


class SpooledTrainingData:
    """A training dataset in a memory-mapped Arrow file.

    Create it with ``Client.stream_training_data(...).spool()``. Close it (or
    use it as a context manager) to unmap the file and, unless a path was
    given, delete it; it is also deleted when the object is garbage collected.
    Reading is thread-safe. It can be pickled to other processes on the same
    machine (they map the same file; only the creator deletes it).

    Attributes:
        path: The Arrow IPC file.
        schema: As TrainingStream.schema.
        manifest: The dataset manifest.
        feature_columns: The feature columns' names, in the service's order.
        num_rows: Number of rows.
        vector_dims: Dimension of each float_vector feature column: as the
            server declared it, or as its values have it.
    """

    path: str
    schema: pa.Schema
    manifest: training_pb2.DatasetManifest
    feature_columns: tuple[str, ...]
    num_rows: int
    vector_dims: dict[str, int]

    def __init__(
        self,
        path: str,
        manifest: training_pb2.DatasetManifest,
        vector_dims: Mapping[str, int] | None = None,
        *,
        delete: bool = False,
    ) -> None:
        """Maps an Arrow IPC file written by from_stream (or anything with the
        same layout and floe.feature_columns metadata).

        Args:
            delete: Delete the file on close() and garbage collection.
        """
        self.path = path
        self.manifest = manifest
        self.vector_dims = dict(vector_dims or {})
        self._finalizer = weakref.finalize(self, _remove, path) if delete else None
        self._open()

    def _open(self) -> None:
        import pyarrow as pa

        self._mmap = pa.memory_map(self.path, "r")
        reader = pa.ipc.open_file(self._mmap)
        self.schema = reader.schema
        self.feature_columns = feature_columns_of(self.schema)
        # Batches are views of the mapping: nothing is read until a row is.
        self._batches = [reader.get_batch(i) for i in range(reader.num_record_batches)]
        sizes = np.array([b.num_rows for b in self._batches], dtype=np.int64)
        self._starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self.num_rows = int(self._starts[-1])

    @classmethod
    def from_stream(
        cls,
        stream: BatchStream,
        directory: str | None = None,
        path: str | None = None,
    ) -> SpooledTrainingData:
        """Writes the stream's remaining batches to a file, then maps it.

        Args:
            directory: Where to create a temporary file (deleted on close);
                default: tempfile.gettempdir(). Mind that /tmp is RAM (tmpfs)
                on some systems: point this at a disk for large datasets.
            path: Write this file instead, and keep it.

        Raises:
            FloeError: The call failed or the stream is malformed; the partial
                file is removed.
        """
        import pyarrow as pa

        if path is None:
            fd, path = tempfile.mkstemp(
                prefix="floe-training-", suffix=".arrow", dir=directory
            )
            os.close(fd)
            delete = True
        else:
            delete = False
        vectors = [
            name
            for name in stream.feature_columns
            if is_vector(stream.schema.field(name).type)
        ]
        seen: dict[str, set[int]] = {name: set() for name in vectors}
        try:
            with pa.OSFile(path, "wb") as sink, pa.ipc.new_file(
                sink, stream.schema
            ) as writer:
                for batch in stream:
                    for name in vectors:
                        seen[name] |= vector_dims(batch.column(name))
                    writer.write_batch(batch)
        except BaseException:
            _remove(path)
            raise
        declared = declared_dims(stream.schema)
        dims: dict[str, int] = {}
        for name, lengths in seen.items():
            if name in declared:
                lengths = lengths | {declared[name]}
            if len(lengths) > 1:
                _remove(path)
                raise FloeError(
                    f"feature {name!r} holds vectors of lengths {sorted(lengths)}"
                    + (f" (declared {declared[name]})" if name in declared else "")
                )
            if lengths:
                dims[name] = lengths.pop()
        return cls(path, stream.manifest, dims, delete=delete)

    @property
    def feature_names(self) -> tuple[str, ...]:
        """The features' names as OnlineFeatures.feature_names lists them."""
        return feature_names_of(self.feature_columns, self.manifest)

    @property
    def num_batches(self) -> int:
        """Number of record batches in the file (as the server sent them)."""
        return len(self._batches)

    def __len__(self) -> int:
        return self.num_rows

    def slice(self, start: int, stop: int) -> pa.Table:
        """Returns rows [start, stop) as a table of views into the file."""
        import pyarrow as pa

        start, stop = max(0, start), min(self.num_rows, stop)
        pieces = []
        first = int(np.searchsorted(self._starts, start, side="right")) - 1
        for b in range(max(first, 0), len(self._batches)):
            lo, hi = int(self._starts[b]), int(self._starts[b + 1])
            if lo >= stop:
                break
            a, z = max(start, lo) - lo, min(stop, hi) - lo
            if z > a:
                pieces.append(self._batches[b].slice(a, z - a))
        return pa.Table.from_batches(pieces, self.schema)

    def take(self, indices: Sequence[int] | npt.NDArray[np.integer[Any]]) -> pa.Table:
        """Returns the rows at indices, in the order given (a copy of them)."""
        import pyarrow as pa

        idx = np.asarray(indices, dtype=np.int64)
        if idx.ndim != 1:
            raise ValueError(f"indices must be 1-D, got shape {idx.shape}")
        if idx.size and (idx.min() < 0 or idx.max() >= self.num_rows):
            raise IndexError(f"row index out of range for {self.num_rows} rows")
        order = np.argsort(idx, kind="stable")
        ordered = idx[order]
        which = np.searchsorted(self._starts, ordered, side="right") - 1
        pieces = []
        for b in np.unique(which):
            local = ordered[which == b] - self._starts[b]
            pieces.append(self._batches[int(b)].take(pa.array(local)))
        table = pa.Table.from_batches(pieces, self.schema)
        # Reading in file order touches each page once; then restore the order asked.
        inverse = np.empty_like(order)
        inverse[order] = np.arange(order.size)
        return table.take(pa.array(inverse))

    def to_training_data(self) -> TrainingData:
        """Returns the whole dataset as TrainingData; its table maps the file."""
        return TrainingData(self.slice(0, self.num_rows), self.manifest)

    def close(self) -> None:
        """Unmaps the file and deletes it if it is temporary. Tables already
        read from it stay valid (the mapping lives as long as they do)."""
        self._batches = []
        self._mmap.close()
        if self._finalizer is not None:
            self._finalizer()

    def __enter__(self) -> SpooledTrainingData:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getstate__(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "manifest": self.manifest.SerializeToString(),
            "vector_dims": self.vector_dims,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.path = state["path"]
        self.manifest = training_pb2.DatasetManifest.FromString(state["manifest"])
        self.vector_dims = dict(state["vector_dims"])
        self._finalizer = None  # the original owns the file
        self._open()

    def __repr__(self) -> str:
        return (
            f"SpooledTrainingData({self.path!r}, rows={self.num_rows}, "
            f"features={list(self.feature_columns)})"
        )
