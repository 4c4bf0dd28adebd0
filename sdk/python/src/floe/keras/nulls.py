"""Nulls as the SDK hands raw columns to a model: reading them from the values.

Floe keeps null and NaN apart; a column entering a chain is ``(values, null)``.
``split_nulls`` makes that pair from what ``OnlineFeatures.to_numpy``, training
data and pyarrow give (see its docstring for the conventions).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from floe.keras._backend import dtype_of, is_tensor, ops

__all__ = ["split_nulls"]

_ZERO = {"int64": 0, "double": 0.0, "string": "", "bool": False}


def split_nulls(values: Any, feature_type: str, dim: int = 0) -> tuple[Any, Any]:
    """Splits a raw column as the SDK hands it to a model into (values, null).

    Nulls are read from the values: NaN in a float array for an int64, double
    or bool feature (``OnlineFeatures.to_numpy``, or an Arrow int64 column with
    nulls converted to numpy), None (or NaN) in an object array or list, Arrow
    nulls in a pyarrow Array or ChunkedArray (where a NaN stays a value). In
    numpy arrays and lists a NaN thus counts as null: pass the null mask
    yourself to keep a stored NaN a value.

    Returns:
        The values with nulls replaced by the type's zero value (a float64
        array keeps its NaN), and a bool array, True at nulls.
    """
    if type(values).__module__.startswith("pyarrow"):
        # Arrow keeps nulls apart from NaN: exact, like an explicit mask.
        null = np.asarray(values.is_null(), dtype=bool)
        return _fill_zero(values.to_pylist(), null, feature_type, dim), null
    if is_tensor(values):
        v = values
        if dtype_of(v).startswith("float") and feature_type in (
            "int64",
            "double",
            "bool",
        ):
            return v, np.asarray(ops.isnan(v))
        return v, np.zeros(int(v.shape[0]), dtype=bool)
    arr = np.asarray(values) if not isinstance(values, list) else None
    if arr is not None and arr.dtype.kind == "M":
        return arr, np.isnat(arr)
    if (
        arr is not None
        and arr.dtype.kind == "f"
        and feature_type in ("int64", "double", "bool")
    ):
        null = np.isnan(arr)
        if feature_type == "double":
            return arr, null
        return (
            np.where(null, 0, arr).astype(
                np.int64 if feature_type == "int64" else bool
            ),
            null,
        )
    if arr is not None and arr.dtype.kind != "O":
        return arr, np.zeros(len(arr), dtype=bool)
    items = list(values)
    null = np.array(
        [v is None or (isinstance(v, float) and math.isnan(v)) for v in items],
        dtype=bool,
    )
    return _fill_zero(items, null, feature_type, dim), null


def _fill_zero(items: list[Any], null: Any, t: str, dim: int) -> Any:
    """Replaces the items at nulls by the type's zero value, as a typed array."""
    if t == "float_vector":
        zero = np.zeros(dim, dtype=np.float32)
        return (
            np.stack(
                [
                    zero if n else np.asarray(v, dtype=np.float32)
                    for v, n in zip(items, null)
                ]
            )
            if items
            else np.zeros((0, dim), dtype=np.float32)
        )
    if t == "timestamp":
        return np.array(
            [np.datetime64("NaT") if n else v for v, n in zip(items, null)],
            dtype="datetime64[us]",
        )
    zero = _ZERO[t]
    filled = [zero if n else v for v, n in zip(items, null)]
    if t == "string":
        out = np.empty(len(filled), dtype=object)
        out[:] = filled
        return out
    return np.asarray(
        filled, dtype={"int64": np.int64, "double": np.float64, "bool": bool}[t]
    )
