"""The Keras layers Floe adds where Keras has none, or none that is exact.

Each computes one transform step as the Go implementation does (see
``floe.keras.ops`` for which step uses which layer, and why). Layers that can
create or fill nulls take and return ``(values, null)``; the others map values
to values.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from floe.keras._backend import (
    INT64_MIN,
    dtype_of,
    keras,
    ops,
    register,
    tf,
    tf_strings,
)

__all__ = [
    "Abs",
    "Bucketize",
    "Cast",
    "Clip",
    "FillNull",
    "Log1p",
    "Standardize",
]


@register
class Clip(keras.layers.Layer):
    """Floe ``clip``: min(max(x, min), max) as float64.

    NaN passes through; -Inf becomes min and +Inf max. Written with comparisons
    rather than ``ops.clip`` so every backend treats NaN the same way.
    """

    def __init__(self, min: float, max: float, **kwargs: Any) -> None:
        kwargs.setdefault("dtype", "float64")
        super().__init__(**kwargs)
        self.min = float(min)
        self.max = float(max)
        self.built = True

    def call(self, inputs: Any) -> Any:
        x = ops.cast(inputs, "float64")
        x = ops.where(ops.less(x, self.min), self.min, x)
        return ops.where(ops.greater(x, self.max), self.max, x)

    def compute_output_spec(self, inputs: Any) -> Any:
        return keras.KerasTensor(inputs.shape, dtype="float64")

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "min": self.min, "max": self.max}


@register
class Log1p(keras.layers.Layer):
    """Floe ``log1p``: ln(1 + x) as float64; x < -1 gives NaN, -1 gives -Inf."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("dtype", "float64")
        super().__init__(**kwargs)
        self.built = True

    def call(self, inputs: Any) -> Any:
        return ops.log1p(ops.cast(inputs, "float64"))

    def compute_output_spec(self, inputs: Any) -> Any:
        return keras.KerasTensor(inputs.shape, dtype="float64")


@register
class Standardize(keras.layers.Layer):
    """Floe ``standardize`` (and ``min_max``): (x - mean) / std as float64.

    ``chain_layers`` uses keras.layers.Normalization when that is exact and
    this layer only when it is not (std below Keras' epsilon, or std**2 out of
    the normal float64 range); see the module docstring.
    """

    def __init__(self, mean: float, std: float, **kwargs: Any) -> None:
        kwargs.setdefault("dtype", "float64")
        super().__init__(**kwargs)
        self.mean = float(mean)
        self.std = float(std)
        self.built = True

    def call(self, inputs: Any) -> Any:
        return ops.divide(
            ops.subtract(ops.cast(inputs, "float64"), self.mean), self.std
        )

    def compute_output_spec(self, inputs: Any) -> Any:
        return keras.KerasTensor(inputs.shape, dtype="float64")

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mean": self.mean, "std": self.std}


@register
class Bucketize(keras.layers.Layer):
    """Floe ``bucketize``: int64 index i with boundaries[i-1] <= x < boundaries[i].

    The index is the number of boundaries b for which ``x < b`` is false, in
    float64: a value on a boundary goes to the bucket above it, -Inf to 0, +Inf
    and NaN to len(boundaries). keras.layers.Discretization is not used because
    it compares in float32 (see the module docstring).
    """

    def __init__(self, boundaries: Sequence[float], **kwargs: Any) -> None:
        kwargs.setdefault("dtype", "float64")
        super().__init__(**kwargs)
        self.boundaries = [float(b) for b in boundaries]
        self.built = True

    def call(self, inputs: Any) -> Any:
        x = ops.expand_dims(ops.cast(inputs, "float64"), -1)
        bounds = ops.convert_to_tensor(np.asarray(self.boundaries, dtype=np.float64))
        at_or_above = ops.logical_not(ops.less(x, bounds))
        return ops.sum(ops.cast(at_or_above, "int64"), axis=-1)

    def compute_output_spec(self, inputs: Any) -> Any:
        return keras.KerasTensor(inputs.shape, dtype="int64")

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "boundaries": list(self.boundaries)}


@register
class FillNull(keras.layers.Layer):
    """Floe ``fill_null``: ``(values, null) → (values, null)`` with nulls filled.

    Null positions take ``value``; the returned null mask is all False. NaN is a
    value, not a null, and is left alone. String columns are filled on
    TensorFlow (the values come back as a tf.string tensor, which StringLookup
    and Hashing take as they are).
    """

    def __init__(self, value: Any, column_type: str, **kwargs: Any) -> None:
        if column_type not in ("int64", "double", "string", "bool"):
            raise ValueError(f"fill_null does not apply to {column_type} inputs")
        super().__init__(**kwargs)
        self.value = value
        self.column_type = column_type
        # Keras would cast float inputs to the layer's float32 policy first, and
        # cannot hold strings in a JAX array.
        self._convert_input_args = False
        self._allow_non_tensor_positional_args = True
        self.supports_jit = self.column_type != "string"
        self.built = True

    def call(self, values: Any, null: Any) -> tuple[Any, Any]:
        if self.column_type == "string":
            tf_ = tf()
            mask = tf_.convert_to_tensor(np.asarray(null, dtype=bool))
            filled = tf_.where(
                mask, tf_.constant(self.value, tf_.string), tf_strings(values)
            )
            return filled, ops.zeros_like(ops.convert_to_tensor(null, "bool"))
        dtype = {"int64": "int64", "double": "float64", "bool": "bool"}[
            self.column_type
        ]
        values = ops.cast(values, dtype)
        null = ops.convert_to_tensor(null, "bool")
        filled = ops.where(null, ops.full_like(values, self.value), values)
        return filled, ops.zeros_like(null)

    def compute_output_spec(self, values: Any, null: Any) -> tuple[Any, Any]:
        dtype = {
            "int64": "int64",
            "double": "float64",
            "bool": "bool",
            "string": "string",
        }
        return (
            keras.KerasTensor(values.shape, dtype=dtype[self.column_type]),
            keras.KerasTensor(null.shape, dtype="bool"),
        )

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "value": self.value,
            "column_type": self.column_type,
        }


@register
class Cast(keras.layers.Layer):
    """Floe ``cast``: ``(values, null) → (values, null)`` as float64 or int64.

    To double from int64, double or bool (True → 1). To int64 from int64, bool
    or double: a double is truncated toward zero, and NaN, ±Inf and values
    outside the int64 range become null (their value is 0).
    """

    def __init__(self, to: str, **kwargs: Any) -> None:
        if to not in ("double", "int64"):
            raise ValueError(f"cast to {to} is not supported (use double or int64)")
        super().__init__(**kwargs)
        self.to = to
        # Keras would cast float inputs to the layer's float32 policy first.
        self._convert_input_args = False
        self._allow_non_tensor_positional_args = True
        self.built = True

    def call(self, values: Any, null: Any) -> tuple[Any, Any]:
        null = ops.convert_to_tensor(null, "bool")
        if self.to == "double":
            return ops.cast(values, "float64"), null
        if not dtype_of(values).startswith("float"):
            return ops.cast(values, "int64"), null
        t = ops.trunc(ops.cast(values, "float64"))
        bad = ops.logical_or(
            ops.isnan(t),
            ops.logical_or(ops.greater_equal(t, -INT64_MIN), ops.less(t, INT64_MIN)),
        )
        out = ops.cast(ops.where(bad, 0.0, t), "int64")
        return out, ops.logical_or(null, bad)

    def compute_output_spec(self, values: Any, null: Any) -> tuple[Any, Any]:
        dtype = "float64" if self.to == "double" else "int64"
        return (
            keras.KerasTensor(values.shape, dtype=dtype),
            keras.KerasTensor(null.shape, dtype="bool"),
        )

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "to": self.to}


@register
class Abs(keras.layers.Layer):
    """Floe ``abs``: ``(values, null) → (values, null)``, |x| of the input's type.

    A double keeps its type: NaN stays NaN, ±Inf becomes +Inf and -0.0 becomes
    0.0. An int64 keeps its type; the smallest int64, -2**63, has no int64
    absolute value and becomes null (its value is 0), as in Go. Keras has an
    absolute op (``ops.absolute``) but no layer, and numpy's absolute wraps
    -2**63 to itself.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # Keras would cast the input to the layer's float32 policy first.
        self._convert_input_args = False
        self._allow_non_tensor_positional_args = True
        self.built = True

    def call(self, values: Any, null: Any) -> tuple[Any, Any]:
        null = ops.convert_to_tensor(null, "bool")
        if dtype_of(values).startswith("float"):
            return ops.absolute(ops.cast(values, "float64")), null
        values = ops.cast(values, "int64")
        smallest = ops.equal(values, ops.convert_to_tensor(np.int64(-(2**63))))
        out = ops.where(smallest, ops.zeros_like(values), ops.absolute(values))
        return out, ops.logical_or(null, smallest)

    def compute_output_spec(self, values: Any, null: Any) -> tuple[Any, Any]:
        dtype = "float64" if dtype_of(values).startswith("float") else "int64"
        return (
            keras.KerasTensor(values.shape, dtype=dtype),
            keras.KerasTensor(null.shape, dtype="bool"),
        )
