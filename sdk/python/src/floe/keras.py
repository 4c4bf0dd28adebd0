"""Keras preprocessing that reproduces Floe's feature transforms.

A feature service may declare a transform chain per feature (``standardize``,
``min_max``, ``clip``, ``log1p``, ``bucketize``, ``lookup``, ``one_hot``,
``hash``, ``fill_null``, ``cast``). The server runs the one implementation of
those steps (Go, ``services/featureserver/internal/transform``); this module
builds Keras layers computing the same values, so a model can take raw features
and preprocess them exactly as the server does. The generated
``floe.features.<project>`` classes expose it as ``preprocessing()``. The shared
vectors in ``specs/testdata/transforms`` are asserted against both
(``tests/test_keras_vectors.py`` here).

Requirements: Keras 3 (``pip install 'floe-features[keras-jax,keras-tf]'``). ``lookup``, ``hash`` and
``fill_null`` of strings run on TensorFlow (as Keras' own StringLookup and
Hashing do, whatever the backend), so TensorFlow must be installed for them.
Importing ``floe`` does not import Keras; importing ``floe.keras`` does.

Precision: the transforms are defined on float64 and int64. On the JAX backend,
importing this module turns on ``jax_enable_x64``: without it JAX silently
computes in 32 bits, which wraps int64 ids beyond 2**31 before ``hash``, turns
doubles beyond 3.4e38 into infinities and moves values next to a bucket
boundary into the neighbouring bucket. Keras layers keep their own dtype policy
(float32 by default), so the rest of a model is unaffected.

Nulls: Floe keeps null and NaN apart. A null (missing, expired or null value)
stays null through every step but ``fill_null``, which replaces it; NaN is an
ordinary double that ``fill_null`` leaves alone. Here a column is therefore a
pair ``(values, null)``: ``null`` is a bool array, True where the value is null,
and the value at a null position is unspecified and must be ignored (as in the
server's answers). ``Chain`` takes and returns such pairs (``null=None`` means
no nulls), with Go's semantics. ``Preprocessing`` (what ``preprocessing()`` returns)
takes the nulls per feature too; for a feature whose nulls are not given it
reads them from the values the way the SDK hands data to a model: NaN in a
float array (``OnlineFeatures.to_numpy``, or an int64 Arrow column with nulls
converted to numpy), None in an object array, and Arrow nulls in a pyarrow
array. Under that convention a stored NaN counts as null; pass the nulls
explicitly (e.g. ``OnlineFeatures.statuses[:, j] != PRESENT`` for a raw
feature, or pyarrow's ``is_null()``) to keep them apart. Outputs come back the same way: values plus a null mask per
feature; ``Preprocessing.to_numpy`` folds them into one float64 matrix with
NaN at nulls, like ``OnlineFeatures.to_numpy`` of the served features.

Mapping (step → layer), and where Keras' own layer is not used, why:

- standardize {mean, std}: ``keras.layers.Normalization(mean=mean,
  variance=std**2, axis=None)`` in float64. Normalization computes
  (x - mean) / max(sqrt(variance), ``keras.config.epsilon()``), and
  sqrt(std**2) == std exactly in binary floating point unless std**2 overflows
  or underflows, so this is Go's (x - mean) / std when epsilon <= std and
  std**2 is a normal number. Otherwise (std < 1e-7, std > ~1.3e154) the chain
  uses ``Standardize``, which divides by std itself. Changing the epsilon after
  a chain is built can break the equality. Either way a result may differ from
  Go's in the last bit: XLA on the CPU divides an array by a constant as a
  multiplication by its reciprocal.
- min_max {min, max}: the same as standardize with mean = min and
  std = max - min. ``keras.layers.Rescaling(1/(max-min), -min/(max-min))`` is
  not used: x * scale + offset rounds differently from (x - min) / (max - min)
  and cancels catastrophically when |min| is large against the span (min=7e9,
  max=7e9+0.01 maps 7e9+0.005 to 0.50012 instead of 0.5).
- clip {min, max}: ``Clip`` (Keras has no clip layer).
- log1p: ``Log1p`` (Keras has no log1p layer).
- bucketize {boundaries}: ``Bucketize``, not ``keras.layers.Discretization``:
  Discretization casts its input to ``keras.config.floatx()`` (float32) before
  comparing, so a double next to a boundary lands in the wrong bucket (with
  boundaries [0.1, 0.3], 0.29999999999999993 goes to bucket 2 instead of 1) and
  int64 inputs beyond 2**24 are rounded. Its int output is int32, too.
- lookup {vocabulary, oov_buckets}: ``keras.layers.StringLookup(vocabulary,
  num_oov_indices=oov_buckets, mask_token=None, oov_token=...)``. The OOV token
  is chosen outside the vocabulary: with the default "[UNK]", a vocabulary that
  starts with "[UNK]" has its first entry taken for the OOV token by Keras,
  shifting every index (Go gives "[UNK]" an ordinary vocabulary index).
- one_hot {depth}: ``keras.layers.CategoryEncoding(num_tokens=depth,
  output_mode="one_hot")``, float32 like Floe's float_vector; an index outside
  [0, depth) gives all zeros, as in Go.
- hash {bins, function: farmhash_fingerprint64}: ``keras.layers.Hashing(
  num_bins=bins)`` (salt None: FarmHash Fingerprint64 mod bins; int64 hashed as
  its decimal string).
- fill_null {value}: ``FillNull`` (Keras tensors have no nulls).
- cast {to}: ``Cast``: to int64 a double is truncated toward zero and NaN, ±Inf
  and values outside the int64 range become null, which no Keras cast does.

Execution: ``Chain`` and ``Preprocessing`` run eagerly on numpy or backend
arrays (they are not symbolic: call them, do not put them in a functional
model); the Floe layers on their own also work in functional models. String
steps run on TensorFlow inside the layer, so a model holding one cannot be
jit-compiled on the JAX backend (its ``supports_jit`` is False, as for Keras'
StringLookup). Unlike Keras' own preprocessing layers, the Floe layers do not
switch to TensorFlow inside a ``tf.data`` pipeline: on the JAX backend, run them
outside tf.data.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

try:
    import keras
    from keras import ops
except ImportError as err:  # pragma: no cover - depends on the environment
    raise ImportError("floe.keras needs Keras 3: pip install 'floe-features[keras-jax]' (or [keras] and a backend)") from err

if keras.backend.backend() == "jax":
    import jax

    # See the module docstring: the transforms are 64-bit.
    jax.config.update("jax_enable_x64", True)

__all__ = [
    "Bucketize",
    "Cast",
    "Chain",
    "Clip",
    "FillNull",
    "Log1p",
    "Preprocessing",
    "Standardize",
    "chain_layers",
    "check_chain",
    "output_type",
    "split_nulls",
]

OPS = (
    "standardize",
    "min_max",
    "clip",
    "log1p",
    "bucketize",
    "lookup",
    "one_hot",
    "hash",
    "fill_null",
    "cast",
)
TYPES = ("int64", "double", "string", "bool", "timestamp", "float_vector")
HASH_FARM_FINGERPRINT64 = "farmhash_fingerprint64"
_NUMERIC = ("int64", "double")
_INT64_MIN = -(2.0**63)  # exactly representable; 2**63 is the first value past int64


def _register(cls: type) -> type:
    return keras.saving.register_keras_serializable(package="floe")(cls)


def _dtype(x: Any) -> str:
    return str(keras.backend.standardize_dtype(x.dtype))


def _tf() -> Any:
    try:
        import tensorflow as tf
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "string steps (lookup, hash, fill_null of strings) run on TensorFlow, "
            "as Keras' StringLookup and Hashing do: pip install 'floe-features[keras-tf]'"
        ) from err
    return tf


# ---- layers Keras lacks ------------------------------------------------------


@_register
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


@_register
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


@_register
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


@_register
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


@_register
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
            tf = _tf()
            mask = tf.convert_to_tensor(np.asarray(null, dtype=bool))
            filled = tf.where(
                mask, tf.constant(self.value, tf.string), _tf_strings(values)
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


@_register
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
        if not _dtype(values).startswith("float"):
            return ops.cast(values, "int64"), null
        t = ops.trunc(ops.cast(values, "float64"))
        bad = ops.logical_or(
            ops.isnan(t),
            ops.logical_or(ops.greater_equal(t, -_INT64_MIN), ops.less(t, _INT64_MIN)),
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


def _tf_strings(values: Any) -> Any:
    """Converts a string column (numpy str/bytes/object array, list, tf.Tensor)."""
    tf = _tf()
    if isinstance(values, tf.Tensor):
        return values
    return tf.constant(np.asarray(values, dtype=object), dtype=tf.string)


# ---- chains --------------------------------------------------------------------


def _parse_step(step: Any, index: int) -> tuple[str, dict[str, Any]]:
    """Splits a step as written in specs ("log1p" or {op: params}) into op, params."""
    if isinstance(step, str):
        op, params = step, {}
    elif isinstance(step, Mapping) and len(step) == 1:
        ((op, params),) = step.items()
        params = dict(params or {})
    else:
        raise ValueError(
            f"transform[{index}]: a step is a mapping with exactly one of "
            + ", ".join(OPS)
        )
    if op not in OPS:
        raise ValueError(f"transform[{index}]: unknown step {op!r}")
    return op, params


def _finite(*xs: float) -> bool:
    return all(math.isfinite(x) for x in xs)


def check_chain(
    input_type: str, transform: Sequence[Any]
) -> list[tuple[str, dict[str, Any], str]]:
    """Validates a transform chain as the server does when it loads specs.

    Args:
        input_type: The raw feature's type (int64, double, string, bool,
            timestamp or float_vector).
        transform: The steps as written in a spec or a vector file, e.g.
            ``[{"clip": {"min": 0, "max": 1}}, "log1p"]``.

    Returns:
        Per step its op, its parameters (defaults filled in) and the type it
        receives.

    Raises:
        ValueError: A step is unknown, has invalid parameters or does not accept
            the type its predecessor produces; the message follows the Go one
            (``transform[i]: ...``).
    """
    return _compile(input_type, transform)[0]


def output_type(input_type: str, transform: Sequence[Any]) -> str:
    """The type a valid chain returns (float_vector after one_hot)."""
    return _compile(input_type, transform)[1]


def _compile(
    input_type: str, transform: Sequence[Any]
) -> tuple[list[tuple[str, dict[str, Any], str]], str]:
    """check_chain's type flow, mirroring transform.Step.compile in Go."""
    if input_type not in TYPES:
        raise ValueError(f"unknown input type {input_type!r}")
    out: list[tuple[str, dict[str, Any], str]] = []
    t, card = input_type, 0
    for i, step in enumerate(transform):
        op, p = _parse_step(step, i)

        def fail(msg: str) -> ValueError:
            return ValueError(f"transform[{i}]: {msg}")

        def need_numeric() -> None:
            if t not in _NUMERIC:
                raise fail(f"{op} needs an int64 or double input, got {t}")

        def number(name: str) -> float:
            if p.get(name) is None:
                raise fail(f"{op}.{name} is required")
            return float(p[name])

        if p.get("fitted"):
            raise fail(
                f"{op} is marked fitted: pass the parameters its lock file holds "
                "(the generated TRANSFORMS have them)"
            )
        in_type = t
        if op == "standardize":
            need_numeric()
            mean, std = number("mean"), number("std")
            if not _finite(mean, std):
                raise fail("mean and std must be finite")
            if std <= 0:
                raise fail(f"std must be > 0, got {std}")
            p = {"mean": mean, "std": std}
            t, card = "double", 0
        elif op in ("min_max", "clip"):
            need_numeric()
            lo, hi = number("min"), number("max")
            if not _finite(lo, hi):
                raise fail("min and max must be finite")
            if lo >= hi:
                raise fail(f"min ({lo}) must be < max ({hi})")
            p = {"min": lo, "max": hi}
            t, card = "double", 0
        elif op == "log1p":
            need_numeric()
            t, card = "double", 0
        elif op == "bucketize":
            need_numeric()
            bounds = [float(b) for b in p.get("boundaries") or []]
            if not bounds:
                raise fail("boundaries must not be empty")
            for j, b in enumerate(bounds):
                if not _finite(b):
                    raise fail(f"boundaries[{j}] must be finite")
                if j > 0 and b <= bounds[j - 1]:
                    raise fail(
                        "boundaries must be strictly increasing: "
                        f"boundaries[{j}] = {b} follows {bounds[j - 1]}"
                    )
            p = {"boundaries": bounds}
            t, card = "int64", len(bounds) + 1
        elif op == "lookup":
            if t != "string":
                raise fail(f"lookup needs a string input, got {t}")
            vocab = list(p.get("vocabulary") or [])
            oov = int(p.get("oov_buckets", 1))
            if not vocab:
                raise fail("vocabulary must not be empty")
            if oov < 1:
                raise fail(f"oov_buckets must be ≥ 1, got {oov}")
            seen: set[str] = set()
            for v in vocab:
                if v in seen:
                    raise fail(f"vocabulary lists {v!r} twice")
                seen.add(v)
            p = {"vocabulary": vocab, "oov_buckets": oov}
            t, card = "int64", oov + len(vocab)
        elif op == "one_hot":
            if t != "int64":
                raise fail(
                    "one_hot needs an int64 index input (from lookup, hash or "
                    f"bucketize), got {t}"
                )
            depth = int(p.get("depth", 0))
            if depth < 1:
                raise fail(f"depth must be ≥ 1, got {depth}")
            if card > 0 and depth < card:
                raise fail(
                    f"depth {depth} is less than the {card} indices the previous "
                    "step produces"
                )
            p = {"depth": depth}
            t, card = "float_vector", 0
        elif op == "hash":
            if t not in ("string", "int64"):
                raise fail(f"hash needs a string or int64 input, got {t}")
            bins = int(p.get("bins", 0))
            if bins < 1:
                raise fail(f"bins must be ≥ 1, got {bins}")
            fn = p.get("function", "")
            if fn != HASH_FARM_FINGERPRINT64:
                raise fail(
                    f"function {fn!r} is not supported (use {HASH_FARM_FINGERPRINT64})"
                )
            p = {"bins": bins, "function": fn}
            t, card = "int64", bins
        elif op == "fill_null":
            p = {"value": _fill_value(p.get("value"), t, fail)}
        elif op == "cast":
            to = p.get("to")
            if to not in ("double", "int64"):
                raise fail(f"cast to {to} is not supported (use double or int64)")
            if t not in _NUMERIC and t != "bool":
                raise fail(f"cast needs an int64, double or bool input, got {t}")
            card = card if (t == "int64" and to == "int64") else 0
            p = {"to": to}
            t = to
        out.append((op, p, in_type))
    return out, t


def _fill_value(value: Any, t: str, fail: Any) -> Any:
    """The fill_null value converted to the column's Python type, as Go checks it."""
    if value is None:
        raise fail("value is required")
    if t in ("timestamp", "float_vector"):
        raise fail(f"fill_null does not apply to {t} inputs")
    if isinstance(value, bool):
        if t != "bool":
            raise fail(f"value {value} does not fit a {t} input")
        return value
    if isinstance(value, int):
        if t == "int64":
            return value
        if t == "double":
            return float(value)
    elif isinstance(value, float):
        if t == "double":
            return value
        if (
            t == "int64"
            and math.isfinite(value)
            and value == math.trunc(value)
            and abs(value) < 2.0**63
        ):
            return int(value)
    elif isinstance(value, str):
        if t == "string":
            return value
        raise fail(f"value {value!r} does not fit a {t} input")
    else:
        raise fail(f"value {value!r} is not a number, string or bool")
    raise fail(f"value {value} does not fit a {t} input")


def _oov_token(vocabulary: Sequence[str]) -> str:
    """An OOV token StringLookup cannot mistake for a vocabulary entry."""
    token, n = "[UNK]", 0
    vocab = set(vocabulary)
    while token in vocab:
        n += 1
        token = f"[UNK{n}]"
    return token


def _exact_normalization(std: float) -> bool:
    # Normalization divides by max(sqrt(std**2), epsilon): equal to std when the
    # square neither overflows nor underflows and std is not below epsilon.
    sq = std * std
    return (
        std >= keras.config.epsilon()
        and math.isfinite(sq)
        and sq >= np.finfo(np.float64).tiny
        and math.sqrt(sq) == std
    )


def _step_layer(op: str, p: dict[str, Any], in_type: str) -> keras.layers.Layer:
    """The Keras layer computing one validated step."""
    if op in ("standardize", "min_max"):
        mean, std = (
            (p["mean"], p["std"])
            if op == "standardize"
            else (p["min"], p["max"] - p["min"])
        )
        if _exact_normalization(std):
            layer = keras.layers.Normalization(
                mean=mean, variance=std * std, axis=None, dtype="float64"
            )
            layer.build((None,))
            return layer
        return Standardize(mean, std)
    if op == "clip":
        return Clip(p["min"], p["max"])
    if op == "log1p":
        return Log1p()
    if op == "bucketize":
        return Bucketize(p["boundaries"])
    if op == "lookup":
        return keras.layers.StringLookup(
            vocabulary=p["vocabulary"],
            num_oov_indices=p["oov_buckets"],
            mask_token=None,
            oov_token=_oov_token(p["vocabulary"]),
            output_mode="int",
        )
    if op == "one_hot":
        return keras.layers.CategoryEncoding(
            num_tokens=p["depth"], output_mode="one_hot", dtype="float32"
        )
    if op == "hash":
        return keras.layers.Hashing(num_bins=p["bins"])
    if op == "fill_null":
        return FillNull(p["value"], in_type)
    if op == "cast":
        return Cast(p["to"])
    raise AssertionError(op)  # check_chain rejects unknown ops


def chain_layers(input_type: str, transform: Sequence[Any]) -> list[keras.layers.Layer]:
    """Builds one Keras layer per step of a validated transform chain.

    FillNull and Cast take and return ``(values, null)``; the others map values
    to values and leave nulls as they are. ``Chain`` threads both.

    Raises:
        ValueError: The chain is invalid (see check_chain).
    """
    return [_step_layer(op, p, t) for op, p, t in check_chain(input_type, transform)]


_NULL_AWARE = (FillNull, Cast)


@_register
class Chain(keras.layers.Layer):
    """One feature's transform chain: ``(values, null) → (values, null)``.

    Args:
        input_type: The raw feature's type (int64, double, string, bool,
            timestamp or float_vector).
        transform: The steps as written in specs and in the vector files, e.g.
            ``[{"fill_null": {"value": 0}}, {"bucketize": {"boundaries": [18]}}]``.

    Call with the raw values (numpy array, list or backend tensor) and a bool
    null mask of the same length (None: no nulls; NaN is then a value). Returns
    the transformed values (float64, int64, bool, tf.string, or float32 of shape
    (n, depth) after one_hot) and the null mask after the chain.
    """

    def __init__(
        self, input_type: str, transform: Sequence[Any], **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.input_type = input_type
        self.transform = [_plain(s) for s in transform]
        self.steps = chain_layers(input_type, self.transform)
        # As Keras' StringLookup and Hashing do: strings must not be converted to
        # backend tensors (JAX has none), nor doubles to the float32 policy.
        self._convert_input_args = False
        self._allow_non_tensor_positional_args = True
        self.supports_jit = (
            not any(
                op in ("lookup", "hash") or (op == "fill_null" and t == "string")
                for op, _, t in check_chain(input_type, self.transform)
            )
            and input_type != "string"
        )
        self.built = True

    def call(self, values: Any, null: Any = None) -> tuple[Any, Any]:
        values = _typed(values, self.input_type)
        n = int(values.shape[0])
        if null is None:
            null = ops.zeros((n,), dtype="bool")
        else:
            null = ops.convert_to_tensor(np.asarray(null, dtype=bool))
            if int(null.shape[0]) != n:
                raise ValueError(f"{n} values but {int(null.shape[0])} null flags")
        for layer in self.steps:
            if isinstance(layer, _NULL_AWARE):
                values, null = layer(values, null)
            else:
                values = layer(values)
        return values, null

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "input_type": self.input_type,
            "transform": self.transform,
        }


def _plain(step: Any) -> Any:
    """A step as plain JSON-like data (tuples → lists), for get_config."""
    if isinstance(step, Mapping):
        return {k: _plain(v) for k, v in step.items()}
    if isinstance(step, (list, tuple)):
        return [_plain(v) for v in step]
    return step


def _is_tensor(x: Any) -> bool:
    """A backend tensor, or a TensorFlow one (what string steps return)."""
    return bool(ops.is_tensor(x)) or type(x).__module__.startswith("tensorflow")


def _typed(values: Any, t: str) -> Any:
    """Converts raw values to the tensor a chain of input type t starts from."""
    if t == "string":
        if _is_tensor(values):
            return values
        return _tf_strings(["" if v is None else v for v in values])
    if t == "timestamp":
        # No step takes timestamps: passed through, as numpy datetime64[us].
        return values if _is_tensor(values) else np.asarray(values, "datetime64[us]")
    dtype = {"int64": "int64", "double": "float64", "bool": "bool"}.get(t, "float32")
    if _is_tensor(values):
        return ops.cast(values, dtype)
    return ops.convert_to_tensor(np.asarray(values).astype(dtype))


# ---- a feature service's preprocessing -------------------------------------------

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
    if _is_tensor(values):
        v = values
        if _dtype(v).startswith("float") and feature_type in (
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


def _column_key(columns: Mapping[str, Any], ref: str) -> str | None:
    """The key of raw feature ref ("view:feature") in columns: itself, or
    "view__feature" as training data names raw feature columns."""
    if ref in columns:
        return ref
    alt = ref.replace(":", "__", 1)
    return alt if alt in columns else None


@_register
class Preprocessing(keras.Model):
    """A feature service's transforms as one Keras model: raw features in,
    the service's features out, as the server computes them.

    Generated feature service classes build it with ``preprocessing()``; the
    ``features`` argument is their ``TRANSFORMS`` table. It saves to ``.keras``
    and reloads with ``keras.saving.load_model`` (``import floe.keras`` first,
    so Keras knows the Floe layers).

    Args:
        features: One entry per output feature, in service order: ``name``
            (output name), ``input`` (the raw feature, "view:feature"),
            ``type`` (its type), ``transform`` (steps as in specs; empty for a
            feature served raw) and, for float_vector inputs, ``dim``.

    Call with ``inputs``, a mapping of raw feature name to values (one entry per
    name in ``input_features``, "view:feature" or, as training data names raw
    columns, "view__feature"), and optionally ``nulls``, a mapping of raw
    feature name to bool null mask. Features without a mask get their nulls from
    the values (see ``split_nulls``). Returns two dicts keyed by output name in
    service order: the values and the null masks.
    """

    def __init__(self, features: Sequence[Mapping[str, Any]], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.feature_specs = [
            {
                "name": str(f["name"]),
                "input": str(f["input"]),
                "type": str(f["type"]),
                "transform": [_plain(s) for s in f.get("transform") or []],
                **({"dim": int(f["dim"])} if f.get("dim") else {}),
            }
            for f in features
        ]
        names = [f["name"] for f in self.feature_specs]
        if len(set(names)) != len(names):
            raise ValueError(f"output names must be distinct: {names}")
        self.feature_names = tuple(names)
        self.input_features: dict[str, str] = {}
        for f in self.feature_specs:
            t = self.input_features.setdefault(f["input"], f["type"])
            if t != f["type"]:
                raise ValueError(
                    f"input {f['input']!r} is typed both {t} and {f['type']}"
                )
        self.output_types = {
            f["name"]: output_type(f["type"], f["transform"])
            for f in self.feature_specs
        }
        self.chains = [Chain(f["type"], f["transform"]) for f in self.feature_specs]
        # Inputs are converted by each Chain (see there); pyarrow arrays are
        # split into values and nulls first.
        self._convert_input_args = False
        self._allow_non_tensor_positional_args = True
        self.supports_jit = all(c.supports_jit for c in self.chains)
        self.built = True

    def call(
        self, inputs: Mapping[str, Any], nulls: Mapping[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        missing = [n for n in self.input_features if _column_key(inputs, n) is None]
        if missing:
            raise KeyError(
                f"inputs lack raw features {missing}; this preprocessing takes "
                f"{list(self.input_features)} (or view__feature, as training data "
                "names raw columns)"
            )
        nulls = nulls or {}
        columns: dict[str, tuple[Any, Any]] = {}
        for name, t in self.input_features.items():
            values = inputs[_column_key(inputs, name)]
            null_key = _column_key(nulls, name)
            if null_key is not None and nulls[null_key] is not None:
                columns[name] = (values, nulls[null_key])
            else:
                dim = next(
                    (f.get("dim", 0) for f in self.feature_specs if f["input"] == name),
                    0,
                )
                columns[name] = split_nulls(values, t, dim)
        values: dict[str, Any] = {}
        out_nulls: dict[str, Any] = {}
        for f, chain in zip(self.feature_specs, self.chains):
            v, n = columns[f["input"]]
            values[f["name"]], out_nulls[f["name"]] = chain(v, n)
        return values, out_nulls

    def to_numpy(
        self, inputs: Mapping[str, Any], nulls: Mapping[str, Any] | None = None
    ) -> np.ndarray:
        """Returns a float64 (rows, features) matrix in service order, NaN at nulls.

        The same matrix ``OnlineFeatures.to_numpy()`` gives for the service's
        served features, so training and serving agree.

        Raises:
            ValueError: An output is a string, timestamp or float_vector.
        """
        bad = [
            n
            for n, t in self.output_types.items()
            if t not in ("int64", "double", "bool")
        ]
        if bad:
            raise ValueError(
                f"features {bad} are not numeric and cannot be columns of a float64 "
                "matrix; call the model for per-feature arrays"
            )
        values, nulls_out = self(inputs, nulls)
        cols = []
        for name in self.feature_names:
            col = np.asarray(values[name]).astype(np.float64)
            col[np.asarray(nulls_out[name], dtype=bool)] = np.nan
            cols.append(col)
        return np.stack(cols, axis=1)

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "features": self.feature_specs}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Preprocessing:
        return cls(**config)
