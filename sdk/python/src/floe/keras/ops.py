"""The transform steps on the Keras side: one class per op.

Each class validates a step's parameters and the type it receives as the Go
implementation does (``services/featureserver/internal/transform/op_<name>.go``,
with the same messages), and builds the Keras layer that computes it. Its
docstring says which layer, and why not Keras' own where that is not exact. The
table (``OPS``, ``op_named``) is what ``floe.keras.check_chain`` and ``Chain``
iterate; adding a step is adding a class here with ``@register_op`` (and a
layer in ``floe.keras.layers`` when Keras has none), then shared vectors in
``specs/testdata/transforms``.
"""

from __future__ import annotations

import math
import sys
from typing import Any

from floe.keras._backend import NUMERIC, keras
from floe.keras.layers import (
    Abs,
    Bucketize,
    Cast,
    Clip,
    FillNull,
    Log1p,
    Standardize,
)

__all__ = ["HASH_FARM_FINGERPRINT64", "OPS", "Op", "op_named", "register_op"]

HASH_FARM_FINGERPRINT64 = "farmhash_fingerprint64"

Params = dict[str, Any]


class Op:
    """One kind of transform step.

    Attributes:
        name: The step's key in specs.
        params: The parameters a spec may write (besides ``fitted``).
        null_aware: Its layer takes and returns ``(values, null)`` (it creates
            or fills nulls); otherwise it maps values to values.
    """

    name = ""
    params: tuple[str, ...] = ()
    null_aware = False

    def check(self, p: Params, t: str, card: int) -> tuple[Params, str, int]:
        """Validates the parameters against the input type t (and card, the
        number of indices an int64 input can take, 0 when unbounded).

        Returns:
            The parameters with defaults filled in, the output type and the
            output's card.

        Raises:
            ValueError: The Go message, without the step's position.
        """
        raise NotImplementedError

    def layer(self, p: Params, in_type: str) -> keras.layers.Layer:
        """The layer computing the step with checked parameters p."""
        raise NotImplementedError

    def jit(self, in_type: str) -> bool:
        """Whether the layer can be jit-compiled (string steps run on
        TensorFlow and cannot, as for Keras' StringLookup)."""
        return True


_TABLE: dict[str, Op] = {}


def register_op(cls: type[Op]) -> type[Op]:
    """Adds an op class to the table."""
    op = cls()
    if op.name in _TABLE:
        raise ValueError(f"op {op.name} registered twice")
    _TABLE[op.name] = op
    return cls


def op_named(name: str) -> Op | None:
    """The op spelled name in specs, None when there is none."""
    return _TABLE.get(name)


def _need_numeric(op: str, t: str) -> None:
    if t not in NUMERIC:
        raise ValueError(f"{op} needs an int64 or double input, got {t}")


def _number(op: str, p: Params, name: str) -> float:
    if p.get(name) is None:
        raise ValueError(f"{op}.{name} is required")
    return float(p[name])


def _range(op: str, p: Params) -> tuple[float, float]:
    lo, hi = _number(op, p, "min"), _number(op, p, "max")
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError("min and max must be finite")
    if lo >= hi:
        raise ValueError(f"min ({lo}) must be < max ({hi})")
    return lo, hi


def _exact_normalization(std: float) -> bool:
    # Normalization divides by max(sqrt(std**2), epsilon): equal to std when the
    # square neither overflows nor underflows and std is not below epsilon.
    sq = std * std
    return (
        std >= keras.config.epsilon()
        and math.isfinite(sq)
        and sq >= sys.float_info.min  # the smallest normal float64
        and math.sqrt(sq) == std
    )


def _scale(mean: float, std: float) -> keras.layers.Layer:
    """(x - mean) / std as float64, with Keras' Normalization when exact."""
    if _exact_normalization(std):
        layer = keras.layers.Normalization(
            mean=mean, variance=std * std, axis=None, dtype="float64"
        )
        layer.build((None,))
        return layer
    return Standardize(mean, std)


@register_op
class _Standardize(Op):
    """standardize {mean, std}: ``keras.layers.Normalization(mean=mean,
    variance=std**2, axis=None)`` in float64.

    Normalization computes (x - mean) / max(sqrt(variance),
    ``keras.config.epsilon()``), and sqrt(std**2) == std exactly in binary
    floating point unless std**2 overflows or underflows, so this is Go's
    (x - mean) / std when epsilon <= std and std**2 is a normal number.
    Otherwise (std < 1e-7, std > ~1.3e154) it uses ``Standardize``, which
    divides by std itself. Changing the epsilon after a chain is built can break
    the equality. Either way a result may differ from Go's in the last bit: XLA
    on the CPU divides an array by a constant as a multiplication by its
    reciprocal.
    """

    name = "standardize"
    params = ("mean", "std")

    def check(self, p: Params, t: str, card: int) -> tuple[Params, str, int]:
        _need_numeric(self.name, t)
        mean, std = _number(self.name, p, "mean"), _number(self.name, p, "std")
        if not (math.isfinite(mean) and math.isfinite(std)):
            raise ValueError("mean and std must be finite")
        if std <= 0:
            raise ValueError(f"std must be > 0, got {std}")
        return {"mean": mean, "std": std}, "double", 0

    def layer(self, p: Params, in_type: str) -> keras.layers.Layer:
        return _scale(p["mean"], p["std"])


@register_op
class _MinMax(Op):
    """min_max {min, max}: as standardize with mean = min and std = max - min.

    ``keras.layers.Rescaling(1/(max-min), -min/(max-min))`` is not used:
    x * scale + offset rounds differently from (x - min) / (max - min) and
    cancels catastrophically when |min| is large against the span (min=7e9,
    max=7e9+0.01 maps 7e9+0.005 to 0.50012 instead of 0.5).
    """

    name = "min_max"
    params = ("min", "max")

    def check(self, p: Params, t: str, card: int) -> tuple[Params, str, int]:
        _need_numeric(self.name, t)
        lo, hi = _range(self.name, p)
        return {"min": lo, "max": hi}, "double", 0

    def layer(self, p: Params, in_type: str) -> keras.layers.Layer:
        return _scale(p["min"], p["max"] - p["min"])


@register_op
class _Clip(Op):
    """clip {min, max}: ``Clip`` (Keras has no clip layer)."""

    name = "clip"
    params = ("min", "max")

    def check(self, p: Params, t: str, card: int) -> tuple[Params, str, int]:
        _need_numeric(self.name, t)
        lo, hi = _range(self.name, p)
        return {"min": lo, "max": hi}, "double", 0

    def layer(self, p: Params, in_type: str) -> keras.layers.Layer:
        return Clip(p["min"], p["max"])


@register_op
class _Log1p(Op):
    """log1p: ``Log1p`` (Keras has no log1p layer)."""

    name = "log1p"

    def check(self, p: Params, t: str, card: int) -> tuple[Params, str, int]:
        _need_numeric(self.name, t)
        return {}, "double", 0

    def layer(self, p: Params, in_type: str) -> keras.layers.Layer:
        return Log1p()


@register_op
class _Abs(Op):
    """abs: ``Abs``, null-aware because the smallest int64 becomes null (Keras
    has no absolute-value layer; ``ops.absolute`` wraps -2**63)."""

    name = "abs"
    null_aware = True

    def check(self, p: Params, t: str, card: int) -> tuple[Params, str, int]:
        _need_numeric(self.name, t)
        return {}, t, 0

    def layer(self, p: Params, in_type: str) -> keras.layers.Layer:
        return Abs()


@register_op
class _Bucketize(Op):
    """bucketize {boundaries}: ``Bucketize``, not ``keras.layers.Discretization``.

    Discretization casts its input to ``keras.config.floatx()`` (float32) before
    comparing, so a double next to a boundary lands in the wrong bucket (with
    boundaries [0.1, 0.3], 0.29999999999999993 goes to bucket 2 instead of 1)
    and int64 inputs beyond 2**24 are rounded. Its int output is int32, too.
    """

    name = "bucketize"
    params = ("boundaries",)

    def check(self, p: Params, t: str, card: int) -> tuple[Params, str, int]:
        _need_numeric(self.name, t)
        bounds = [float(b) for b in p.get("boundaries") or []]
        if not bounds:
            raise ValueError("boundaries must not be empty")
        for j, b in enumerate(bounds):
            if not math.isfinite(b):
                raise ValueError(f"boundaries[{j}] must be finite")
            if j > 0 and b <= bounds[j - 1]:
                raise ValueError(
                    "boundaries must be strictly increasing: "
                    f"boundaries[{j}] = {b} follows {bounds[j - 1]}"
                )
        return {"boundaries": bounds}, "int64", len(bounds) + 1

    def layer(self, p: Params, in_type: str) -> keras.layers.Layer:
        return Bucketize(p["boundaries"])


def _oov_token(vocabulary: list[str]) -> str:
    """An OOV token StringLookup cannot mistake for a vocabulary entry."""
    token, n = "[UNK]", 0
    vocab = set(vocabulary)
    while token in vocab:
        n += 1
        token = f"[UNK{n}]"
    return token


@register_op
class _Lookup(Op):
    """lookup {vocabulary, oov_buckets}: ``keras.layers.StringLookup(vocabulary,
    num_oov_indices=oov_buckets, mask_token=None, oov_token=...)``.

    The OOV token is chosen outside the vocabulary: with the default "[UNK]", a
    vocabulary that starts with "[UNK]" has its first entry taken for the OOV
    token by Keras, shifting every index (Go gives "[UNK]" an ordinary
    vocabulary index).
    """

    name = "lookup"
    params = ("vocabulary", "oov_buckets")

    def check(self, p: Params, t: str, card: int) -> tuple[Params, str, int]:
        if t != "string":
            raise ValueError(f"lookup needs a string input, got {t}")
        vocab = list(p.get("vocabulary") or [])
        oov = int(p.get("oov_buckets", 1))
        if not vocab:
            raise ValueError("vocabulary must not be empty")
        if oov < 1:
            raise ValueError(f"oov_buckets must be ≥ 1, got {oov}")
        seen: set[str] = set()
        for v in vocab:
            if v in seen:
                raise ValueError(f"vocabulary lists {v!r} twice")
            seen.add(v)
        return {"vocabulary": vocab, "oov_buckets": oov}, "int64", oov + len(vocab)

    def layer(self, p: Params, in_type: str) -> keras.layers.Layer:
        return keras.layers.StringLookup(
            vocabulary=p["vocabulary"],
            num_oov_indices=p["oov_buckets"],
            mask_token=None,
            oov_token=_oov_token(p["vocabulary"]),
            output_mode="int",
        )

    def jit(self, in_type: str) -> bool:
        return False


@register_op
class _OneHot(Op):
    """one_hot {depth}: ``keras.layers.CategoryEncoding(num_tokens=depth,
    output_mode="one_hot")``, float32 like Floe's float_vector; an index outside
    [0, depth) gives all zeros, as in Go."""

    name = "one_hot"
    params = ("depth",)

    def check(self, p: Params, t: str, card: int) -> tuple[Params, str, int]:
        if t != "int64":
            raise ValueError(
                "one_hot needs an int64 index input (from lookup, hash or "
                f"bucketize), got {t}"
            )
        depth = int(p.get("depth", 0))
        if depth < 1:
            raise ValueError(f"depth must be ≥ 1, got {depth}")
        if card > 0 and depth < card:
            raise ValueError(
                f"depth {depth} is less than the {card} indices the previous "
                "step produces"
            )
        return {"depth": depth}, "float_vector", 0

    def layer(self, p: Params, in_type: str) -> keras.layers.Layer:
        return keras.layers.CategoryEncoding(
            num_tokens=p["depth"], output_mode="one_hot", dtype="float32"
        )


@register_op
class _Hash(Op):
    """hash {bins, function: farmhash_fingerprint64}: ``keras.layers.Hashing(
    num_bins=bins)`` (salt None: FarmHash Fingerprint64 mod bins; int64 hashed
    as its decimal string)."""

    name = "hash"
    params = ("bins", "function")

    def check(self, p: Params, t: str, card: int) -> tuple[Params, str, int]:
        if t not in ("string", "int64"):
            raise ValueError(f"hash needs a string or int64 input, got {t}")
        bins = int(p.get("bins", 0))
        if bins < 1:
            raise ValueError(f"bins must be ≥ 1, got {bins}")
        fn = p.get("function", "")
        if fn != HASH_FARM_FINGERPRINT64:
            raise ValueError(
                f"function {fn!r} is not supported (use {HASH_FARM_FINGERPRINT64})"
            )
        return {"bins": bins, "function": fn}, "int64", bins

    def layer(self, p: Params, in_type: str) -> keras.layers.Layer:
        return keras.layers.Hashing(num_bins=p["bins"])

    def jit(self, in_type: str) -> bool:
        return False


def _fill_value(value: Any, t: str) -> Any:
    """The fill_null value converted to the column's Python type, as Go checks it."""
    if value is None:
        raise ValueError("value is required")
    if t in ("timestamp", "float_vector"):
        raise ValueError(f"fill_null does not apply to {t} inputs")
    if isinstance(value, bool):
        if t != "bool":
            raise ValueError(f"value {value} does not fit a {t} input")
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
        raise ValueError(f"value {value!r} does not fit a {t} input")
    else:
        raise ValueError(f"value {value!r} is not a number, string or bool")
    raise ValueError(f"value {value} does not fit a {t} input")


@register_op
class _FillNull(Op):
    """fill_null {value}: ``FillNull`` (Keras tensors have no nulls)."""

    name = "fill_null"
    params = ("value",)
    null_aware = True

    def check(self, p: Params, t: str, card: int) -> tuple[Params, str, int]:
        return {"value": _fill_value(p.get("value"), t)}, t, card

    def layer(self, p: Params, in_type: str) -> keras.layers.Layer:
        return FillNull(p["value"], in_type)

    def jit(self, in_type: str) -> bool:
        return in_type != "string"


@register_op
class _Cast(Op):
    """cast {to}: ``Cast``: to int64 a double is truncated toward zero and NaN,
    ±Inf and values outside the int64 range become null, which no Keras cast
    does."""

    name = "cast"
    params = ("to",)
    null_aware = True

    def check(self, p: Params, t: str, card: int) -> tuple[Params, str, int]:
        to = p.get("to")
        if to not in ("double", "int64"):
            raise ValueError(f"cast to {to} is not supported (use double or int64)")
        if t not in NUMERIC and t != "bool":
            raise ValueError(f"cast needs an int64, double or bool input, got {t}")
        return {"to": to}, to, card if (t == "int64" and to == "int64") else 0

    def layer(self, p: Params, in_type: str) -> keras.layers.Layer:
        return Cast(p["to"])


OPS = tuple(sorted(_TABLE))
"""Every op's name, sorted."""
