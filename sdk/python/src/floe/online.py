"""Conversion of GetOnlineFeaturesResponse into numpy arrays.

The server answers with one typed, packed column per feature, so every column
converts to a numpy array without boxing a Python object per value (strings
excepted). This module has no gRPC dependency: it works on response messages
however they were obtained.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from floe.errors import FloeError
from floe.v1 import serving_pb2, types_pb2

__all__ = ["OnlineFeatures", "import_pandas"]


def import_pandas(method: str) -> Any:
    """Imports pandas for method, or raises an ImportError naming the extra."""
    try:
        import pandas
    except ImportError as err:
        raise ImportError(
            f"{method} needs pandas: pip install 'floe-features[pandas]'"
        ) from err
    return pandas

PRESENT = serving_pb2.FEATURE_STATUS_PRESENT
EXPIRED = serving_pb2.FEATURE_STATUS_EXPIRED
FILLED = serving_pb2.FEATURE_STATUS_FILLED

_INT64 = types_pb2.VALUE_TYPE_INT64
_DOUBLE = types_pb2.VALUE_TYPE_DOUBLE
_STRING = types_pb2.VALUE_TYPE_STRING
_BOOL = types_pb2.VALUE_TYPE_BOOL
_TIMESTAMP = types_pb2.VALUE_TYPE_TIMESTAMP
_FLOAT_VECTOR = types_pb2.VALUE_TYPE_FLOAT_VECTOR

_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)

# Types whose values are numbers once missing ones become NaN.
_NUMERIC = frozenset({_INT64, _DOUBLE, _BOOL})

# The oneof member each value type must use, to catch a server and a client
# built from different protos.
_LIST_FIELD = {
    _INT64: "int64_values",
    _DOUBLE: "double_values",
    _STRING: "string_values",
    _BOOL: "bool_values",
    _TIMESTAMP: "timestamp_values",
    _FLOAT_VECTOR: "float_vector_values",
}


def _type_name(value_type: int) -> str:
    name: str = types_pb2.ValueType.Name(value_type)
    return name.removeprefix("VALUE_TYPE_").lower()


class OnlineFeatures:
    """Feature values of a batch of entity rows, as numpy arrays.

    Attributes:
        feature_names: "view:feature" names in response order, which for a
            feature service is the order its spec lists them.
        value_types: floe.v1 ValueType of each feature, by name.
        statuses: int8 array of shape (rows, features) holding floe.v1
            FeatureStatus values (1 PRESENT, 2 NOT_FOUND, 3 EXPIRED, 4 NULL,
            5 UNAVAILABLE, 6 FILLED: missing, and the service's fill_null
            step supplied the value, as training data has it).
        columns: Typed 1-D array per feature: int64, float64, bool, object (str)
            or datetime64[us]; float_vector features are 2-D float32 arrays of
            shape (rows, dim). Slots whose status is NOT_FOUND or NULL hold the
            type's zero value exactly as the server sent it; EXPIRED slots hold
            the stale value. Use ``statuses`` (or ``to_numpy``) to tell them apart.
        event_times: Per feature view, the event time of the row served for each
            entity row as datetime64[us]; NaT where no row was found.
        snapshot_ids: Per feature view, the Iceberg snapshot id each entity row
            was materialized from (int64); 0 where no row was found.
        tiers: Per feature view, the floe.v1 Tier each row was read from (int8).
        registry_version: Version hash of the registry that answered.
        row_count: Number of entity rows.
        degraded: True when the server answered without its online store (it was
            unreachable), from Iceberg; ``degraded_reason`` says why.
    """

    feature_names: tuple[str, ...]
    value_types: dict[str, int]
    statuses: npt.NDArray[np.int8]
    columns: dict[str, np.ndarray]
    event_times: dict[str, npt.NDArray[np.datetime64]]
    snapshot_ids: dict[str, npt.NDArray[np.int64]]
    tiers: dict[str, npt.NDArray[np.int8]]
    registry_version: str
    row_count: int
    degraded: bool
    degraded_reason: str

    def __init__(
        self,
        feature_names: Sequence[str],
        value_types: dict[str, int],
        statuses: npt.NDArray[np.int8],
        columns: dict[str, np.ndarray],
        event_times: dict[str, npt.NDArray[np.datetime64]],
        snapshot_ids: dict[str, npt.NDArray[np.int64]],
        tiers: dict[str, npt.NDArray[np.int8]],
        registry_version: str,
        row_count: int,
        degraded: bool = False,
        degraded_reason: str = "",
    ) -> None:
        self.feature_names = tuple(feature_names)
        self.value_types = value_types
        self.statuses = statuses
        self.columns = columns
        self.event_times = event_times
        self.snapshot_ids = snapshot_ids
        self.tiers = tiers
        self.registry_version = registry_version
        self.row_count = row_count
        self.degraded = degraded
        self.degraded_reason = degraded_reason

    @classmethod
    def from_response(
        cls,
        response: serving_pb2.GetOnlineFeaturesResponse,
        expected_features: Sequence[str] | None = None,
    ) -> OnlineFeatures:
        """Converts a GetOnlineFeaturesResponse.

        Args:
            response: The server's answer.
            expected_features: If given, the feature names the caller was
                generated against; a different list or order means the
                generated code and the server's specs have drifted apart.

        Raises:
            FloeError: The response is malformed (a column of the wrong length
                or type) or does not hold expected_features in order.
        """
        n = int(response.row_count)
        names = tuple(c.name for c in response.columns)
        if expected_features is not None and names != tuple(expected_features):
            raise FloeError(
                "the server answered with features "
                f"{list(names)} but this code expects {list(expected_features)}; "
                "the specs the server runs differ from the generated code "
                "(run `make generate`, or update the client)"
            )
        if len(set(names)) != len(names):
            raise FloeError(f"response lists a feature twice: {list(names)}")
        statuses = np.empty((n, len(names)), dtype=np.int8)
        columns: dict[str, np.ndarray] = {}
        value_types: dict[str, int] = {}
        for j, col in enumerate(response.columns):
            if len(col.statuses) != n:
                raise FloeError(
                    f"column {col.name!r} has {len(col.statuses)} statuses "
                    f"for {n} rows"
                )
            statuses[:, j] = np.fromiter(col.statuses, dtype=np.int8, count=n)
            columns[col.name] = _column(col, n)
            value_types[col.name] = col.value_type
        event_times: dict[str, npt.NDArray[np.datetime64]] = {}
        snapshot_ids: dict[str, npt.NDArray[np.int64]] = {}
        tiers: dict[str, npt.NDArray[np.int8]] = {}
        for view in response.views:
            for field, got in (
                ("event_time_unix_micros", len(view.event_time_unix_micros)),
                ("snapshot_ids", len(view.snapshot_ids)),
                ("tiers", len(view.tiers)),
            ):
                if got != n:
                    raise FloeError(
                        f"view {view.view!r} has {got} {field} for {n} rows"
                    )
            micros = np.fromiter(view.event_time_unix_micros, dtype=np.int64, count=n)
            times = micros.view("datetime64[us]").copy()
            # The API sends 0 for "no row"; NaT says so without a fake 1970 date.
            times[micros == 0] = np.datetime64("NaT")
            event_times[view.view] = times
            snapshot_ids[view.view] = np.fromiter(
                view.snapshot_ids, dtype=np.int64, count=n
            )
            tiers[view.view] = np.fromiter(view.tiers, dtype=np.int8, count=n)
        return cls(
            feature_names=names,
            value_types=value_types,
            statuses=statuses,
            columns=columns,
            event_times=event_times,
            snapshot_ids=snapshot_ids,
            tiers=tiers,
            registry_version=response.registry_version,
            row_count=n,
            degraded=response.degraded,
            degraded_reason=response.degraded_reason,
        )

    def __len__(self) -> int:
        return self.row_count

    def __repr__(self) -> str:
        return (
            f"OnlineFeatures(rows={self.row_count}, "
            f"features={list(self.feature_names)})"
        )

    def usable(self, keep_expired: bool = False) -> npt.NDArray[np.bool_]:
        """Returns a (rows, features) mask of the slots holding a usable value.

        A value is usable when its status is PRESENT or FILLED (the feature
        service's fill_null supplied it), or EXPIRED if keep_expired is set (the
        stale value of a raw feature is in the column; the TTL says not to trust
        it).
        """
        mask: npt.NDArray[np.bool_] = (self.statuses == PRESENT) | (
            self.statuses == FILLED
        )
        if keep_expired:
            mask |= self.statuses == EXPIRED
        return mask

    def to_numpy(
        self, dtype: npt.DTypeLike | None = None, *, keep_expired: bool = False
    ) -> np.ndarray:
        """Returns a 2-D array of shape (rows, features) in feature order.

        With no dtype, the array is float64 when every feature is int64, double
        or bool, and object otherwise. Values that are not usable (see
        ``usable``) are NaN in both cases. Note that int64 values beyond 2**53
        lose precision in float64.

        Args:
            dtype: A floating dtype to cast the numeric matrix to, or ``object``
                for Python values (str, int, float, bool, datetime, and 1-D
                float32 arrays for float_vector features).
            keep_expired: Keep values whose status is EXPIRED instead of NaN.

        Raises:
            ValueError: A float_vector feature was asked for in a numeric
                matrix, a string or timestamp feature in a numeric dtype, or
                an integer/bool dtype for a matrix with missing values.
        """
        mask = self.usable(keep_expired)
        want_object = dtype is not None and np.dtype(dtype) == np.dtype(object)
        vectors = [
            name
            for name in self.feature_names
            if self.value_types[name] == _FLOAT_VECTOR
        ]
        if vectors and not want_object:
            name = vectors[0]
            dim = self.columns[name].shape[1]
            raise ValueError(
                f"feature {name!r} is a float_vector (dim {dim}) and cannot be one "
                "column of a 2-D numeric matrix; read it from "
                f"columns[{name!r}] (a rows x {dim} float32 array), or call "
                "to_numpy(dtype=object)"
            )
        non_numeric = [
            name
            for name in self.feature_names
            if self.value_types[name] not in _NUMERIC
        ]
        if want_object or (dtype is None and non_numeric):
            return self._object_matrix(mask)
        if non_numeric:
            name = non_numeric[0]
            raise ValueError(
                f"feature {name!r} is {_type_name(self.value_types[name])} and "
                f"cannot be converted to {np.dtype(dtype)}; use to_numpy(dtype=object) "
                f"or columns[{name!r}]"
            )
        out = np.empty((self.row_count, len(self.feature_names)), dtype=np.float64)
        for j, name in enumerate(self.feature_names):
            out[:, j] = self.columns[name]
        out[~mask] = np.nan
        if dtype is None:
            return out
        target = np.dtype(dtype)
        if target.kind not in "fc" and not mask.all():
            raise ValueError(
                f"cannot represent missing values in {target}; use a floating "
                "dtype, or check statuses / usable() first"
            )
        return out.astype(target)

    def to_dict(self, *, keep_expired: bool = False) -> dict[str, list[Any]]:
        """Returns {feature name: one Python value per row} in feature order.

        Values are int, float, bool, str, datetime.datetime (UTC) or, for a
        float_vector, a list of floats; None where the value is not usable (see
        ``usable``), so the result serializes as JSON once datetimes are handled.
        """
        mask = self.usable(keep_expired)
        out: dict[str, list[Any]] = {}
        for j, name in enumerate(self.feature_names):
            col = self.columns[name]
            if self.value_types[name] == _TIMESTAMP:
                values: list[Any] = [
                    _EPOCH + datetime.timedelta(microseconds=int(us))
                    for us in col.astype("datetime64[us]").astype(np.int64)
                ]
            else:
                values = col.tolist()
            out[name] = [v if mask[i, j] else None for i, v in enumerate(values)]
        return out

    def to_pandas(self, *, keep_expired: bool = False) -> Any:
        """Returns a pandas DataFrame: one row per entity row, one column per
        feature (named as in ``feature_names``), in feature order.

        Missing values (not ``usable``) are pandas' missing values, in nullable
        dtypes so an int64 feature stays integer: Int64, Float64, boolean,
        string, datetime64[us, UTC]; a float_vector column holds a float32 array
        per row (None where missing).

        Raises:
            ImportError: pandas is not installed (the ``pandas`` extra).
        """
        pd = import_pandas("OnlineFeatures.to_pandas()")
        mask = self.usable(keep_expired)
        data: dict[str, Any] = {}
        for j, name in enumerate(self.feature_names):
            col, missing = self.columns[name], ~mask[:, j]
            kind = self.value_types[name]
            if kind == _FLOAT_VECTOR:
                cells = np.empty(self.row_count, dtype=object)
                cells[:] = [None if missing[i] else col[i] for i in range(self.row_count)]
                data[name] = pd.Series(cells, dtype=object)
            elif kind == _TIMESTAMP:
                series = pd.Series(col.astype("datetime64[us]")).dt.tz_localize("UTC")
                data[name] = series.mask(missing)
            else:
                dtype = {_INT64: "Int64", _DOUBLE: "Float64", _BOOL: "boolean"}.get(
                    kind, "string"
                )
                data[name] = pd.Series(pd.array(col, dtype=dtype)).mask(missing)
        return pd.DataFrame(data, columns=list(self.feature_names))

    def _object_matrix(self, mask: npt.NDArray[np.bool_]) -> np.ndarray:
        out = np.empty((self.row_count, len(self.feature_names)), dtype=object)
        for j, name in enumerate(self.feature_names):
            col = self.columns[name]
            if col.ndim == 2:
                # A list of row views keeps each cell a 1-D float32 vector instead
                # of numpy broadcasting the 2-D column into the matrix.
                cells: list[Any] | np.ndarray = list(col)
            else:
                cells = col.astype(object)
            for i in range(self.row_count):
                out[i, j] = cells[i] if mask[i, j] else np.nan
        return out


def _column(col: serving_pb2.FeatureColumn, n: int) -> np.ndarray:
    """Converts one FeatureColumn's typed list to a numpy array of n rows."""
    which = col.WhichOneof("values")
    want = _LIST_FIELD.get(col.value_type)
    if want is None:
        raise FloeError(
            f"column {col.name!r} has unknown value type {col.value_type}; "
            "update the client"
        )
    if which is None and n == 0:
        which = want  # an empty column may leave the oneof unset
    if which != want:
        raise FloeError(
            f"column {col.name!r} is {_type_name(col.value_type)} but holds {which}"
        )
    values: Any = getattr(col, which)
    arr: np.ndarray
    if col.value_type == _FLOAT_VECTOR:
        dim = int(values.dim)
        if len(values.values) != n * dim:
            raise FloeError(
                f"column {col.name!r} has {len(values.values)} floats for {n} rows "
                f"of dim {dim}"
            )
        arr = np.fromiter(values.values, dtype=np.float32, count=n * dim)
        return arr.reshape(n, dim)
    raw = values.unix_micros if col.value_type == _TIMESTAMP else values.values
    if len(raw) != n:
        raise FloeError(f"column {col.name!r} has {len(raw)} values for {n} rows")
    if col.value_type == _INT64:
        arr = np.fromiter(raw, dtype=np.int64, count=n)
    elif col.value_type == _DOUBLE:
        arr = np.fromiter(raw, dtype=np.float64, count=n)
    elif col.value_type == _BOOL:
        arr = np.fromiter(raw, dtype=np.bool_, count=n)
    elif col.value_type == _TIMESTAMP:
        arr = np.fromiter(raw, dtype=np.int64, count=n).view("datetime64[us]")
    else:
        arr = np.empty(n, dtype=object)
        arr[:] = list(raw)
    return arr
