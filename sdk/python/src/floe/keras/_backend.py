"""Keras and the backend as floe.keras needs them; imported first by the package.

Importing it fails with a clear message without Keras 3, and turns on 64-bit
floats and ints on the JAX backend (see the package docstring: the transforms
are defined on float64 and int64).
"""

from __future__ import annotations

from typing import Any

import numpy as np

try:
    import keras
    from keras import ops
except ImportError as err:  # pragma: no cover - depends on the environment
    raise ImportError(
        "floe.keras needs Keras 3: pip install 'floe-features[keras-jax]' "
        "(or [keras] and a backend)"
    ) from err

if keras.backend.backend() == "jax":
    import jax

    # Without it JAX silently computes in 32 bits: see the package docstring.
    jax.config.update("jax_enable_x64", True)

__all__ = ["keras", "ops"]

TYPES = ("int64", "double", "string", "bool", "timestamp", "float_vector")
"""The column types of specs."""
NUMERIC = ("int64", "double")
INT64_MIN = -(2.0**63)  # exactly representable; 2**63 is the first value past int64


def register(cls: type) -> type:
    """Registers a Floe layer with Keras, so saved models reload it."""
    return keras.saving.register_keras_serializable(package="floe")(cls)


def dtype_of(x: Any) -> str:
    """The standardized dtype name of a tensor or array."""
    return str(keras.backend.standardize_dtype(x.dtype))


def tf() -> Any:
    """TensorFlow, which string steps run on (as Keras' StringLookup does)."""
    try:
        import tensorflow
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "string steps (lookup, hash, fill_null of strings) run on TensorFlow, "
            "as Keras' StringLookup and Hashing do: "
            "pip install 'floe-features[keras-tf]'"
        ) from err
    return tensorflow


def tf_strings(values: Any) -> Any:
    """Converts a string column (numpy str/bytes/object array, list, tf.Tensor)."""
    tf_ = tf()
    if isinstance(values, tf_.Tensor):
        return values
    return tf_.constant(np.asarray(values, dtype=object), dtype=tf_.string)


def is_tensor(x: Any) -> bool:
    """A backend tensor, or a TensorFlow one (what string steps return)."""
    return bool(ops.is_tensor(x)) or type(x).__module__.startswith("tensorflow")
