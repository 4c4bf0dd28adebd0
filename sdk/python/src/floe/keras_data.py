"""Floe training data as a ``keras.utils.PyDataset``, for ``model.fit``.

Importing this module imports keras (3.x); ``import floe`` does not.

``TrainingDataset.fetch`` asks the server for point-in-time training data and
spools the answer to a memory-mapped Arrow file as it arrives
(floe.spool.SpooledTrainingData); each ``__getitem__`` then reads one batch
from that file and converts it to numpy. So:

- Memory: while fetching, about one server batch (64k rows) plus the entity rows
  sent; while training, the batches keras queues (``max_queue_size``) and the
  pages of the file that reading touches, which are page cache the operating
  system reclaims under pressure, not heap. The dataset's size goes to disk
  (``spool_dir``, default the temporary directory: not tmpfs for big data).
- Every epoch, in any order (``shuffle=True`` shuffles rows every epoch), reads
  the same file: the server is asked once.
- ``x`` is a (batch, features) matrix in the feature service's order
  (``inputs="matrix"``, every feature numeric or bool), or a dict of one array
  per feature keyed by feature column (``inputs="dict"``, for multi-input
  models; float_vector features are (batch, dim)). Missing values are NaN, as
  in OnlineFeatures.to_numpy; cast to ``dtype`` (default keras' floatx).
- ``y`` comes from label columns of the entity rows, which the server passes
  through unchanged: name one (an array) or several (a dict by name);
  ``sample_weight`` names a weight column.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

try:
    import keras
except ImportError as err:  # pragma: no cover - depends on the environment
    raise ImportError(
        "floe.keras_data needs keras 3: pip install 'floe-features[training,keras-jax]'"
    ) from err

from floe.columns import (
    column_array,
    feature_arrays,
    feature_matrix,
    is_numeric,
    is_vector,
)
from floe.errors import InvalidArgument
from floe.spool import SpooledTrainingData
from floe.training import EntityTable

if TYPE_CHECKING:
    import pyarrow as pa

    from floe.client import Client

__all__ = ["TrainingDataset"]


def _label_names(labels: str | Sequence[str] | None) -> tuple[str, ...]:
    if labels is None:
        return ()
    if isinstance(labels, str):
        return (labels,)
    return tuple(labels)


def _check_label_columns(
    schema: pa.Schema,
    names: Sequence[str],
    features: Sequence[str],
    null_counts: Mapping[str, int],
    where: str,
) -> None:
    """Raises InvalidArgument unless every label/weight column exists, is
    numeric or bool, is not a feature, and holds no null."""
    for name in names:
        if name not in schema.names:
            raise InvalidArgument(
                f"label column {name!r} is not a column of the {where} "
                f"({schema.names}); labels and weights are columns of the entity "
                "rows, which the server passes through"
            )
        if name in features:
            raise InvalidArgument(f"label column {name!r} is a feature column")
        if not is_numeric(schema.field(name).type):
            raise InvalidArgument(
                f"label column {name!r} is {schema.field(name).type}; labels and "
                "weights must be numbers or bools"
            )
        if null_counts.get(name, 0):
            raise InvalidArgument(
                f"label column {name!r} has {null_counts[name]} null values"
            )


class TrainingDataset(keras.utils.PyDataset):
    """Batches of Floe training data for ``model.fit``, read from a spool file.

    Example::

        from floe.keras_data import TrainingDataset
        rows = {"user_id": ids, "event_time": times, "converted": labels}
        with TrainingDataset.fetch(client, "pricing_agent_v2", rows,
                                   labels="converted", batch_size=256,
                                   shuffle=True) as train:
            model.fit(train, epochs=5)

    ``dataset[i]`` is ``(x, y)``, ``(x, y, sample_weight)``, or ``(x,)``
    without labels. ``len(dataset)`` is the number of batches.

    Attributes:
        data: The spooled dataset read from (its manifest pins the snapshots).
        feature_columns: The features in x's order (the service's).
        feature_names: The same as OnlineFeatures.feature_names names them.
        batch_size: Rows per batch; the last batch may be smaller.
        num_rows: Rows in the dataset (or in the ``rows`` range selected).
    """

    def __init__(
        self,
        data: SpooledTrainingData,
        *,
        labels: str | Sequence[str] | None = None,
        sample_weight: str | None = None,
        batch_size: int = 32,
        shuffle: bool = False,
        seed: int | None = None,
        inputs: str = "matrix",
        dtype: npt.DTypeLike | None = None,
        rows: slice | None = None,
        close_data: bool = False,
        **kwargs: Any,
    ) -> None:
        """Serves batches of a spooled dataset.

        Args:
            data: The dataset, from ``TrainingStream.spool()``.
            labels: Column(s) of the entity rows to yield as y: a name gives an
                array, a sequence of names a dict by name (multi-output models).
            sample_weight: A column of the entity rows to yield as weights.
            batch_size: Rows per batch.
            shuffle: Shuffle the rows every epoch (seeded by seed); otherwise
                batches are consecutive rows in entity-row order.
            inputs: "matrix" for one (batch, features) array, or "dict" for one
                array per feature keyed by feature column.
            dtype: Floating dtype of x (and weights); default keras.config.floatx().
            rows: A slice of the dataset's rows to serve, e.g. for a validation
                split of the same spool (step 1 only).
            close_data: Close data when this dataset is closed.
            **kwargs: workers, use_multiprocessing, max_queue_size, passed to
                keras.utils.PyDataset.

        Raises:
            InvalidArgument: A label or weight column is missing, not numeric,
                a feature, or holds nulls.
            ValueError: inputs="matrix" with a string, timestamp or float_vector
                feature (use inputs="dict"), or a bad batch_size or rows.
        """
        super().__init__(**kwargs)
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        if inputs not in ("matrix", "dict"):
            raise ValueError(f'inputs must be "matrix" or "dict", got {inputs!r}')
        self.data = data
        self.feature_columns = data.feature_columns
        self.feature_names = data.feature_names
        self.batch_size = int(batch_size)
        self.inputs = inputs
        self.dtype = np.dtype(dtype if dtype is not None else keras.config.floatx())
        self._labels = _label_names(labels)
        self._weight = sample_weight
        self._close_data = close_data
        self._label_dict = labels is not None and not isinstance(labels, str)

        schema = data.schema
        checked = list(self._labels) + ([sample_weight] if sample_weight else [])
        whole = data.slice(0, data.num_rows)  # views of the file: nothing read
        nulls = {n: whole.column(n).null_count for n in checked if n in schema.names}
        _check_label_columns(
            schema, checked, self.feature_columns, nulls, "training data"
        )
        if inputs == "matrix":
            bad = [
                c for c in self.feature_columns if not is_numeric(schema.field(c).type)
            ]
            if bad:
                raise ValueError(
                    f"feature {bad[0]!r} is {schema.field(bad[0]).type} and cannot "
                    'be a column of the x matrix; use inputs="dict"'
                )
        else:
            unknown = [
                c
                for c in self.feature_columns
                if is_vector(schema.field(c).type) and c not in data.vector_dims
            ]
            if unknown:
                raise ValueError(
                    f"feature {unknown[0]!r} is a float_vector that is null in every "
                    "row, so its dimension is unknown"
                )

        sel = rows if rows is not None else slice(None)
        if not isinstance(sel, slice):
            raise ValueError(f"rows must be a slice, got {type(sel).__name__}")
        start, stop, step = sel.indices(data.num_rows)
        if step != 1:
            raise ValueError("rows must be a slice with step 1")
        self._start, self._stop = start, max(start, stop)
        self.num_rows = self._stop - self._start
        self._rng = np.random.default_rng(seed)
        self._shuffle = shuffle
        self._order: npt.NDArray[np.int64] | None = None
        if shuffle:
            self._reshuffle()

    @classmethod
    def fetch(
        cls,
        client: Client,
        service_or_features: str | Sequence[str],
        entity_rows: Any,
        *,
        labels: str | Sequence[str] | None = None,
        sample_weight: str | None = None,
        snapshot_ids: Mapping[str, int] | None = None,
        timeout: float | None = None,
        spool_dir: str | None = None,
        progress: Any = None,
        **options: Any,
    ) -> TrainingDataset:
        """Builds the training data on the server and spools it to disk.

        Checks the label and weight columns of entity_rows before asking the
        server, then streams the answer into a temporary file (in spool_dir),
        which closing the dataset deletes.

        Args:
            client, service_or_features, entity_rows, snapshot_ids, timeout,
                progress: As Client.stream_training_data.
            labels, sample_weight: As the constructor.
            spool_dir: Directory of the spool file (default: the system's
                temporary directory).
            **options: The constructor's other arguments (batch_size, shuffle,
                seed, inputs, dtype, rows, workers, ...).

        Raises:
            InvalidArgument: A label column is missing or bad, or the server
                refused the request (e.g. no event_time column, a null
                event_time, an unknown feature service).
        """
        import pyarrow as pa

        if isinstance(entity_rows, (str, EntityTable)):
            # Rows the server reads from Iceberg: their label columns are
            # checked in the spooled data, by the constructor.
            table: Any = entity_rows
        else:
            table = (
                entity_rows
                if isinstance(entity_rows, pa.Table)
                else pa.table(entity_rows)
            )
            names = list(_label_names(labels)) + (
                [sample_weight] if sample_weight else []
            )
            nulls = {
                n: table.column(n).null_count for n in names if n in table.column_names
            }
            _check_label_columns(table.schema, names, (), nulls, "entity rows")
        with client.stream_training_data(
            service_or_features,
            table,
            snapshot_ids=snapshot_ids,
            timeout=timeout,
            progress=progress,
        ) as stream:
            data = stream.spool(spool_dir)
        try:
            return cls(
                data,
                labels=labels,
                sample_weight=sample_weight,
                close_data=True,
                **options,
            )
        except BaseException:
            data.close()
            raise

    def _reshuffle(self) -> None:
        self._order = self._start + self._rng.permutation(self.num_rows).astype(
            np.int64
        )

    def __len__(self) -> int:
        return math.ceil(self.num_rows / self.batch_size)

    @property
    def num_batches(self) -> int:
        return len(self)

    def _rows(self, index: int) -> pa.Table:
        if not -len(self) <= index < len(self):
            raise IndexError(f"batch {index} out of range for {len(self)} batches")
        index %= len(self)
        lo = index * self.batch_size
        hi = min(lo + self.batch_size, self.num_rows)
        if self._order is not None:
            return self.data.take(self._order[lo:hi])
        return self.data.slice(self._start + lo, self._start + hi)

    def _x(self, table: pa.Table) -> np.ndarray | dict[str, np.ndarray]:
        if self.inputs == "matrix":
            return feature_matrix(table, self.feature_columns).astype(
                self.dtype, copy=False
            )
        out = feature_arrays(table, self.feature_columns, dims=self.data.vector_dims)
        for name, arr in out.items():
            if arr.dtype.kind == "f":
                out[name] = arr.astype(self.dtype, copy=False)
        return out

    def _label(self, table: pa.Table, name: str) -> np.ndarray:
        import pyarrow as pa

        col = table.column(name)
        if pa.types.is_boolean(col.type) or pa.types.is_floating(col.type):
            return column_array(col, name).astype(self.dtype, copy=False)
        return np.asarray(col.to_numpy())  # integer class ids stay integers

    def __getitem__(self, index: int) -> tuple[Any, ...]:
        """Returns batch index: (x,), (x, y) or (x, y, sample_weight)."""
        table = self._rows(index)
        x = self._x(table)
        if not self._labels:
            return (x,)
        if self._label_dict:
            y: Any = {name: self._label(table, name) for name in self._labels}
        else:
            y = self._label(table, self._labels[0])
        if self._weight is None:
            return (x, y)
        w = column_array(table.column(self._weight)).astype(self.dtype, copy=False)
        return (x, y, w)

    def on_epoch_end(self) -> None:
        """Draws a new row order when shuffling."""
        if self._shuffle:
            self._reshuffle()

    def close(self) -> None:
        """Closes the spooled data if this dataset owns it (fetch does)."""
        if self._close_data:
            self.data.close()

    def __enter__(self) -> TrainingDataset:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"TrainingDataset(rows={self.num_rows}, batches={len(self)}, "
            f"features={list(self.feature_columns)}, labels={list(self._labels)})"
        )
