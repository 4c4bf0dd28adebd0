"""A training dataset in memory, and how its schema names the feature columns.

``TrainingData`` is a whole dataset (a pyarrow Table and its manifest) with numpy
views in the feature service's order. Both ``floe.training`` (which streams it
from the server) and ``floe.spool`` (which maps it from a file) build it; this
module depends on neither.

Which columns are features: the schema metadata names them
(``floe.feature_columns``, a JSON list in the service's order), and so does the
manifest (``columns``). With a server that sends neither, they are every column
except the request's own (join keys, ``event_time``, labels...) and the trailing
``<view>__event_time`` columns.

Needs pyarrow (``pip install 'floe-features[training]'``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import numpy.typing as npt

from floe.columns import column_array, declared_dims, feature_arrays, feature_matrix
from floe.errors import FloeError
from floe.v1 import training_pb2

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "FEATURE_COLUMNS_KEY",
    "TrainingData",
    "feature_columns_of",
    "feature_names_of",
    "with_feature_columns",
]

FEATURE_COLUMNS_KEY = b"floe.feature_columns"
"""Schema metadata key naming the feature columns, as a JSON list of names."""

_VIEW_TIME_SUFFIX = "__event_time"


def feature_columns_of(
    schema: pa.Schema, request_columns: Sequence[str] | None = None
) -> tuple[str, ...]:
    """Returns the feature columns a training data schema declares.

    Uses the ``floe.feature_columns`` metadata; without it (a server predating
    it), request_columns must name the columns of the entity rows sent, and the
    features are the columns in between those and the trailing
    ``<view>__event_time`` columns.

    Raises:
        FloeError: The metadata is malformed or names a column the schema lacks,
            or there is neither metadata nor request_columns.
    """
    names = schema.names
    raw = (schema.metadata or {}).get(FEATURE_COLUMNS_KEY)
    if raw is not None:
        try:
            cols = json.loads(raw)
        except ValueError as err:
            raise FloeError(f"schema metadata floe.feature_columns is not JSON: {err}")
        if not isinstance(cols, list) or not all(isinstance(c, str) for c in cols):
            raise FloeError(
                f"schema metadata floe.feature_columns is not a list of names: {raw!r}"
            )
        missing = [c for c in cols if c not in names]
        if missing:
            raise FloeError(
                f"schema metadata floe.feature_columns names {missing}, which the "
                f"stream does not have (columns: {names})"
            )
        return tuple(cols)
    if request_columns is None:
        raise FloeError(
            "the table does not say which columns are features (no "
            "floe.feature_columns schema metadata)"
        )
    own = set(request_columns)
    end = len(names)
    while (
        end > 0
        and names[end - 1].endswith(_VIEW_TIME_SUFFIX)
        and names[end - 1] not in own
    ):
        end -= 1
    return tuple(n for n in names[:end] if n not in own)


def with_feature_columns(schema: pa.Schema, columns: Sequence[str]) -> pa.Schema:
    """Returns schema with floe.feature_columns set to columns."""
    metadata = dict(schema.metadata or {})
    metadata[FEATURE_COLUMNS_KEY] = json.dumps(list(columns)).encode()
    return schema.with_metadata(metadata)


def feature_names_of(
    columns: Sequence[str], manifest: training_pb2.DatasetManifest
) -> tuple[str, ...]:
    """Names the feature columns as OnlineFeatures.feature_names does.

    A column named "<view>__<feature>" for the manifest's "view:feature" at the
    same position is that reference; any other (an output name, such as a
    transformed feature's) is its own name.
    """
    refs = list(manifest.features)
    if len(refs) != len(columns):
        raise FloeError(
            f"the manifest lists {len(refs)} features for {len(columns)} feature "
            f"columns ({list(columns)})"
        )
    return tuple(
        ref if col == ref.replace(":", "__", 1) else col
        for col, ref in zip(columns, refs)
    )


class TrainingData(NamedTuple):
    """A training dataset in memory: the table and its manifest.

    It is a named tuple, so ``table, manifest = client.get_training_data(...)``
    keeps working; the methods give numpy arrays in the feature service's order,
    with the conventions of ``OnlineFeatures.to_numpy`` (see floe.columns): a
    row of ``to_numpy()`` equals the online vector of the same entity at the
    same time.

    Attributes:
        table: The request's columns, the feature columns in the service's order,
            then ``<view>__event_time`` per view; the schema metadata holds
            ``floe.feature_columns``.
        manifest: What the data was built from: snapshot ids per view (pass them
            back as ``snapshot_ids`` to rebuild it), spec hash, features, rows.
    """

    table: pa.Table
    manifest: training_pb2.DatasetManifest

    @property
    def feature_columns(self) -> tuple[str, ...]:
        """The feature columns' names in the table, in the service's order: a
        feature's output name, else ``<view>__<feature>``."""
        if FEATURE_COLUMNS_KEY in (self.table.schema.metadata or {}):
            return feature_columns_of(self.table.schema)
        if self.manifest.columns:
            return tuple(self.manifest.columns)
        return feature_columns_of(self.table.schema)  # raises: nothing to go by

    @property
    def feature_names(self) -> tuple[str, ...]:
        """The features' names as OnlineFeatures.feature_names (and a generated
        class's FEATURES) list them: "view:feature", or the output name."""
        return feature_names_of(self.feature_columns, self.manifest)

    @property
    def num_rows(self) -> int:
        """Number of rows (``len()`` is 2: this is a (table, manifest) tuple)."""
        return int(self.table.num_rows)

    def missing(self) -> npt.NDArray[np.bool_]:
        """Returns a (rows, features) bool matrix, in the service's order: True
        where the feature has no value (no row at or before the row's time, data
        older than the TTL, an unknown entity, or a stored null).

        ``to_numpy()`` writes NaN for these, so it cannot tell them from a
        stored NaN; this can: ``np.isnan(x) & ~data.missing()`` are real NaNs.
        """
        out = np.zeros((self.num_rows, len(self.feature_columns)), dtype=np.bool_)
        for j, name in enumerate(self.feature_columns):
            col = self.table.column(name)
            if col.null_count:
                out[:, j] = np.asarray(
                    col.is_null().to_numpy(zero_copy_only=False), dtype=np.bool_
                )
        return out

    def to_numpy(self, dtype: npt.DTypeLike | None = None) -> np.ndarray:
        """Returns the features as a (rows, features) matrix in the service's order.

        float64 when every feature is int64, double or bool, object otherwise;
        missing values are NaN. ``x = data.to_numpy()`` is the usual model input.

        Args:
            dtype: A floating dtype to cast the numeric matrix to, or ``object``.

        Raises:
            ValueError: A float_vector feature in a numeric matrix (use
                feature_arrays()), a string or timestamp feature with a numeric
                dtype, or an integer dtype with missing values.
        """
        return feature_matrix(self.table, self.feature_columns, dtype)

    def feature_arrays(self) -> dict[str, np.ndarray]:
        """Returns one array per feature, keyed by feature column, in the
        service's order: for models with one input per feature.

        Numbers and bools are float64 (missing: NaN), strings object arrays of
        str (missing: NaN), timestamps datetime64[us] (missing: NaT),
        float_vectors (rows, dim) float32 (missing: a row of NaN).
        """
        return feature_arrays(self.table, self.feature_columns)

    def column(self, name: str) -> np.ndarray:
        """Returns any column (a feature, or a label passed through from the
        entity rows) as numpy, with the conventions of feature_arrays()."""
        if name not in self.table.column_names:
            raise KeyError(f"no column {name!r}; columns: {self.table.column_names}")
        return column_array(
            self.table.column(name),
            name,
            dim=declared_dims(self.table.schema).get(name),
        )

    def to_pandas(self) -> Any:
        """Returns the whole table (entity columns, features, view event times)
        as a pandas DataFrame, through pyarrow's conversion: missing values are
        NaN, None or NaT, float_vector cells numpy arrays.

        Raises:
            ImportError: pandas is not installed (the ``pandas`` extra).
        """
        from floe.online import import_pandas

        import_pandas("TrainingData.to_pandas()")
        return self.table.to_pandas()

    def to_dict(self) -> dict[str, list[Any]]:
        """Returns {column: one Python value per row} for every column of the
        table, None where a value is missing."""
        return dict(self.table.to_pydict())

    def __repr__(self) -> str:
        return (
            f"TrainingData(rows={self.table.num_rows}, "
            f"features={list(self.feature_columns)})"
        )
