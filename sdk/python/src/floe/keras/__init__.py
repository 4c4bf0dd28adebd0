"""Keras preprocessing that reproduces Floe's feature transforms.

A feature service may declare a transform chain per feature (``standardize``,
``min_max``, ``clip``, ``log1p``, ``abs``, ``bucketize``, ``lookup``,
``one_hot``, ``hash``, ``fill_null``, ``cast``). The server runs the one
implementation of those steps (Go, ``services/featureserver/internal/transform``);
this package builds Keras layers computing the same values, so a model can take raw features
and preprocess them exactly as the server does. The generated
``floe.features.<project>`` classes expose it as ``preprocessing()``. The shared
vectors in ``specs/testdata/transforms`` are asserted against both
(``tests/test_keras_vectors.py`` here).

Requirements: Keras 3 (``pip install 'floe-features[keras-jax,keras-tf]'``).
``lookup``, ``hash`` and ``fill_null`` of strings run on TensorFlow (as Keras'
own StringLookup and Hashing do, whatever the backend), so TensorFlow must be
installed for them.
Importing ``floe`` does not import Keras; importing ``floe.keras`` does.

Precision: the transforms are defined on float64 and int64. On the JAX backend,
importing this package turns on ``jax_enable_x64``: without it JAX silently
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

Mapping (step → layer): ``floe.keras.ops`` has one class per step, whose
docstring names the layer computing it and, where Keras' own layer is not used,
why (Keras' Discretization compares in float32, its StringLookup may take a
vocabulary entry for the OOV token, it has no clip, log1p, abs or null-aware
cast). The Floe layers are in ``floe.keras.layers``.

Layout: ``ops`` (the op table: each step's checks and layer), ``layers`` (the
Floe layers), ``chain`` (``check_chain``, ``Chain``), ``nulls``
(``split_nulls``), ``preprocessing`` (``Preprocessing``). Every public name is
importable from ``floe.keras`` itself, as generated code does.

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

from floe.keras._backend import TYPES
from floe.keras.chain import Chain, chain_layers, check_chain, output_type
from floe.keras.layers import (
    Abs,
    Bucketize,
    Cast,
    Clip,
    FillNull,
    Log1p,
    Standardize,
)
from floe.keras.nulls import split_nulls
from floe.keras.ops import HASH_FARM_FINGERPRINT64, OPS
from floe.keras.preprocessing import Preprocessing

__all__ = [
    "HASH_FARM_FINGERPRINT64",
    "OPS",
    "TYPES",
    "Abs",
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
