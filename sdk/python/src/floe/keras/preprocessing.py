"""A feature service's transforms as one Keras model (``preprocessing()``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from floe.keras._backend import keras, register
from floe.keras.chain import Chain, _plain, output_type
from floe.keras.nulls import split_nulls

__all__ = ["Preprocessing"]


def _column_key(columns: Mapping[str, Any], ref: str) -> str | None:
    """The key of raw feature ref ("view:feature") in columns: itself, or
    "view__feature" as training data names raw feature columns."""
    if ref in columns:
        return ref
    alt = ref.replace(":", "__", 1)
    return alt if alt in columns else None


@register
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
