"""Transform chains: a feature's steps, validated and run as Keras layers.

``check_chain`` validates a chain as the server does when it loads specs, with
the type flowing from step to step; ``Chain`` runs one on a column of values and
its null mask. What each step checks and which layer computes it is the op
table's (``floe.keras.ops``): nothing here names a step.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from floe.keras._backend import TYPES, is_tensor, keras, ops, register, tf_strings
from floe.keras.ops import OPS, Op, op_named

__all__ = ["Chain", "chain_layers", "check_chain", "output_type"]


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
    if op_named(op) is None:
        raise ValueError(f"transform[{index}]: unknown step {op!r}")
    return op, params


def _op(name: str) -> Op:
    op = op_named(name)
    assert op is not None  # check_chain rejects unknown ops
    return op


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
    """check_chain's type flow, mirroring transform.NewChain in Go."""
    if input_type not in TYPES:
        raise ValueError(f"unknown input type {input_type!r}")
    out: list[tuple[str, dict[str, Any], str]] = []
    t, card = input_type, 0
    for i, step in enumerate(transform):
        name, p = _parse_step(step, i)
        op = _op(name)
        if p.get("fitted"):
            raise ValueError(
                f"transform[{i}]: {name} is marked fitted: pass the parameters its "
                "lock file holds (the generated TRANSFORMS have them)"
            )
        unknown = sorted(set(p) - set(op.params) - {"fitted"})
        if unknown:
            raise ValueError(
                f"transform[{i}]: {name} has no parameter {unknown[0]!r} "
                f"(parameters: {', '.join(op.params) or 'none'})"
            )
        try:
            checked, out_type, out_card = op.check(p, t, card)
        except ValueError as err:
            raise ValueError(f"transform[{i}]: {err}") from None
        out.append((name, checked, t))
        t, card = out_type, out_card
    return out, t


def chain_layers(input_type: str, transform: Sequence[Any]) -> list[keras.layers.Layer]:
    """Builds one Keras layer per step of a validated transform chain.

    The null-aware ones (FillNull, Cast, Abs: ``Op.null_aware``) take and
    return ``(values, null)``; the others map values to values and leave nulls
    as they are. ``Chain`` threads both.

    Raises:
        ValueError: The chain is invalid (see check_chain).
    """
    return [_op(op).layer(p, t) for op, p, t in check_chain(input_type, transform)]


@register
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
        checked = check_chain(input_type, self.transform)
        self.steps = [_op(op).layer(p, t) for op, p, t in checked]
        self._null_aware = [_op(op).null_aware for op, _, _ in checked]
        # As Keras' StringLookup and Hashing do: strings must not be converted to
        # backend tensors (JAX has none), nor doubles to the float32 policy.
        self._convert_input_args = False
        self._allow_non_tensor_positional_args = True
        self.supports_jit = input_type != "string" and all(
            _op(op).jit(t) for op, _, t in checked
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
        for layer, null_aware in zip(self.steps, self._null_aware):
            if null_aware:
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


def _typed(values: Any, t: str) -> Any:
    """Converts raw values to the tensor a chain of input type t starts from."""
    if t == "string":
        if is_tensor(values):
            return values
        return tf_strings(["" if v is None else v for v in values])
    if t == "timestamp":
        # No step takes timestamps: passed through, as numpy datetime64[us].
        return values if is_tensor(values) else np.asarray(values, "datetime64[us]")
    dtype = {"int64": "int64", "double": "float64", "bool": "bool"}.get(t, "float32")
    if is_tensor(values):
        return ops.cast(values, dtype)
    return ops.convert_to_tensor(np.asarray(values).astype(dtype))
