"""Conversion of training-data Arrow columns to numpy arrays.

The conventions are those of ``OnlineFeatures.to_numpy``, so that a training row
and the online vector of the same entity at the same time are identical arrays:

- int64, double and bool features become float64, a missing value NaN. In
  training data a value is missing when the column is null: the server joined no
  row (unknown entity, nothing at or before the row's time, or only rows older
  than the view's TTL) or the joined row holds a null. Online, the same cases
  are the statuses NOT_FOUND, EXPIRED and NULL, which ``to_numpy`` also turns
  into NaN.
- A matrix holding a string or timestamp feature is an object matrix of Python
  values (str, int, float, bool, datetime), a missing value NaN.
- float_vector features are (rows, dim) float32 arrays; they cannot be one column
  of a matrix. A missing vector is a row of NaN.

This module needs pyarrow (``pip install 'floe-features[training]'``) and no gRPC: it works
on tables however they were obtained.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from floe.errors import FloeError

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "DIM_KEY",
    "column_array",
    "declared_dims",
    "feature_arrays",
    "feature_matrix",
    "is_numeric",
    "is_vector",
    "vector_dims",
]

Column = Any  # pyarrow.Array or pyarrow.ChunkedArray

DIM_KEY = b"floe.dim"
"""Field metadata key by which the server declares a float_vector column's dimension."""


def declared_dims(schema: pa.Schema) -> dict[str, int]:
    """Returns the dimension the server declared for each float_vector column.

    Training data says it in each vector field's metadata (``floe.dim``), so it
    is known even for a column whose every value is null.
    """
    dims: dict[str, int] = {}
    for field in schema:
        raw = (field.metadata or {}).get(DIM_KEY)
        if raw is not None and is_vector(field.type):
            dims[field.name] = int(raw)
    return dims


def _kind(typ: pa.DataType) -> str:
    import pyarrow as pa

    if (
        pa.types.is_integer(typ)
        or pa.types.is_floating(typ)
        or pa.types.is_boolean(typ)
    ):
        return "numeric"
    if pa.types.is_string(typ) or pa.types.is_large_string(typ):
        return "string"
    if pa.types.is_timestamp(typ):
        return "timestamp"
    if (
        pa.types.is_list(typ)
        or pa.types.is_large_list(typ)
        or pa.types.is_fixed_size_list(typ)
    ) and pa.types.is_floating(typ.value_type):
        return "vector"
    return "other"


def is_numeric(typ: pa.DataType) -> bool:
    """Reports whether a column of this type fits a float matrix (int, float, bool)."""
    return _kind(typ) == "numeric"


def is_vector(typ: pa.DataType) -> bool:
    """Reports whether a column of this type holds float_vector values."""
    return _kind(typ) == "vector"


def _combined(col: Column) -> pa.Array:
    import pyarrow as pa

    if isinstance(col, pa.ChunkedArray):
        if col.num_chunks == 1:
            return col.chunk(0)
        return col.combine_chunks()
    return col


def _valid(arr: pa.Array) -> npt.NDArray[np.bool_]:
    if arr.null_count == 0:
        return np.ones(len(arr), dtype=np.bool_)
    return np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), dtype=np.bool_)


def _float64(arr: pa.Array) -> npt.NDArray[np.float64]:
    import pyarrow as pa

    # safe=False: int64 beyond 2**53 rounds, as OnlineFeatures.to_numpy does.
    floats = arr.cast(pa.float64(), safe=False)
    out = np.asarray(floats.to_numpy(zero_copy_only=False), dtype=np.float64)
    return out  # nulls come out as NaN


def vector_dims(col: Column) -> set[int]:
    """Returns the lengths of the non-null vectors of a float_vector column."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = _combined(col)
    if pa.types.is_fixed_size_list(arr.type):
        return {arr.type.list_size} if len(arr) > arr.null_count else set()
    lengths = pc.list_value_length(arr).drop_null()
    return {int(v) for v in pc.unique(lengths).to_numpy(zero_copy_only=False)}


def _vectors(name: str, arr: pa.Array, dim: int | None) -> npt.NDArray[np.float32]:
    dims = vector_dims(arr)
    if dim is None:
        if len(dims) != 1:
            if not dims:
                raise ValueError(
                    f"feature {name!r} is a float_vector whose every value is null, "
                    "so its dimension is unknown"
                )
            raise FloeError(f"feature {name!r} holds vectors of lengths {sorted(dims)}")
        dim = dims.pop()
    elif dims - {dim}:
        raise FloeError(
            f"feature {name!r} holds vectors of lengths {sorted(dims)}, want {dim}"
        )
    valid = _valid(arr)
    out = np.full((len(arr), dim), np.nan, dtype=np.float32)
    # flatten() skips null lists (and honours slicing), leaving the valid rows'
    # values back to back.
    values = arr.flatten().cast("float32").to_numpy(zero_copy_only=False)
    out[valid] = np.asarray(values, dtype=np.float32).reshape(-1, dim)
    return out


def column_array(col: Column, name: str = "", *, dim: int | None = None) -> np.ndarray:
    """Converts one column to a numpy array with the module's conventions.

    int, float and bool columns become float64 (null → NaN); strings an object
    array of str (null → NaN); timestamps datetime64[us] (null → NaT); float
    vectors a (rows, dim) float32 array (null → a row of NaN), where dim, if not
    given, is inferred from the column's values.
    """
    arr = _combined(col)
    kind = _kind(arr.type)
    if kind == "numeric":
        return _float64(arr)
    if kind == "vector":
        return _vectors(name, arr, dim)
    if kind == "timestamp":
        import pyarrow as pa

        micros = arr.cast(pa.timestamp("us", tz=arr.type.tz), safe=False)
        return np.asarray(micros.to_numpy(zero_copy_only=False), dtype="datetime64[us]")
    out = np.empty(len(arr), dtype=object)
    out[:] = arr.to_pylist()
    out[~_valid(arr)] = np.nan
    return out


def _object_cells(name: str, arr: pa.Array, dim: int | None) -> np.ndarray:
    """One column of an object matrix, cell for cell as OnlineFeatures builds it."""
    import pyarrow as pa
    import pyarrow.compute as pc

    valid = _valid(arr)
    kind = _kind(arr.type)
    cells: np.ndarray
    if kind == "vector":
        vectors = _vectors(name, arr, dim)
        cells = np.empty(len(arr), dtype=object)
        cells[:] = list(vectors)
    elif kind == "numeric" and not pa.types.is_floating(arr.type):
        # Ints and bools as Python int and bool, the values online columns hold.
        zero = pa.scalar(False if pa.types.is_boolean(arr.type) else 0, arr.type)
        cells = pc.fill_null(arr, zero).to_numpy(zero_copy_only=False).astype(object)
    elif kind == "numeric":
        cells = _float64(arr).astype(object)
    elif kind == "timestamp":
        cells = column_array(arr, name).astype(object)
    else:
        cells = np.empty(len(arr), dtype=object)
        cells[:] = arr.to_pylist()
    cells[~valid] = np.nan
    return cells


def feature_matrix(
    table: pa.Table,
    columns: Sequence[str],
    dtype: npt.DTypeLike | None = None,
    *,
    dims: Mapping[str, int] | None = None,
) -> np.ndarray:
    """Returns a 2-D array of shape (rows, len(columns)), in the given order.

    With no dtype, the array is float64 when every column is int, float or bool,
    and object otherwise, missing values NaN in both cases (as
    ``OnlineFeatures.to_numpy``).

    Args:
        dtype: A floating dtype to cast the numeric matrix to, or ``object``.
        dims: Dimension of float_vector columns (only used with dtype=object).

    Raises:
        ValueError: A float_vector column was asked for in a numeric matrix, a
            string or timestamp column in a numeric dtype, or an integer/bool
            dtype for a matrix with missing values.
    """
    want_object = dtype is not None and np.dtype(dtype) == np.dtype(object)
    types = {name: table.schema.field(name).type for name in columns}
    vectors = [name for name in columns if _kind(types[name]) == "vector"]
    if vectors and not want_object:
        raise ValueError(
            f"feature {vectors[0]!r} is a float_vector and cannot be one column of "
            "a 2-D numeric matrix; read it from feature_arrays() (a rows x dim "
            "float32 array), or ask for dtype=object"
        )
    non_numeric = [name for name in columns if not is_numeric(types[name])]
    n = table.num_rows
    if want_object or (dtype is None and non_numeric):
        out = np.empty((n, len(columns)), dtype=object)
        for j, name in enumerate(columns):
            out[:, j] = _object_cells(
                name, _combined(table.column(name)), (dims or {}).get(name)
            )
        return out
    if non_numeric:
        name = non_numeric[0]
        raise ValueError(
            f"feature {name!r} is {types[name]} and cannot be converted to "
            f"{np.dtype(dtype)}; use dtype=object or feature_arrays()"
        )
    out = np.empty((n, len(columns)), dtype=np.float64)
    for j, name in enumerate(columns):
        out[:, j] = _float64(_combined(table.column(name)))
    if dtype is None:
        return out
    target = np.dtype(dtype)
    if target.kind not in "fc" and np.isnan(out).any():
        raise ValueError(
            f"cannot represent missing values in {target}; use a floating dtype"
        )
    return out.astype(target)


def feature_arrays(
    table: pa.Table,
    columns: Sequence[str],
    *,
    dims: Mapping[str, int] | None = None,
) -> dict[str, np.ndarray]:
    """Returns one array per column (see column_array), keyed and ordered by name.

    Args:
        dims: Dimension of float_vector columns. A column left out has the
            dimension its field declares (training data declares it), else
            the one its values have (an error if every value is null).
    """
    known = {**declared_dims(table.schema), **(dims or {})}
    return {
        name: column_array(table.column(name), name, dim=known.get(name))
        for name in columns
    }
