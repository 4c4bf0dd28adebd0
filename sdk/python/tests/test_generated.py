"""Checks of the generated feature contracts against the SDK they delegate to."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from floe import FloeError, OnlineFeatures
from floe.features import PROJECTS
from floe.features.pricing import PricingAgentV1
from floe.v1 import serving_pb2, types_pb2

_NUMPY_TYPE = {
    np.dtype(np.int64): types_pb2.VALUE_TYPE_INT64,
    np.dtype(np.float64): types_pb2.VALUE_TYPE_DOUBLE,
    np.dtype(np.bool_): types_pb2.VALUE_TYPE_BOOL,
    np.dtype(object): types_pb2.VALUE_TYPE_STRING,
    np.dtype("datetime64[us]"): types_pb2.VALUE_TYPE_TIMESTAMP,
}


@pytest.mark.parametrize("project", PROJECTS)
def test_every_project_module_imports(project):
    module = importlib.import_module(f"floe.features.{project}")
    assert module.__all__
    for name in module.__all__:
        cls = getattr(module, name)
        assert tuple(cls.DTYPES) == cls.FEATURES
        for dtype in cls.DTYPES.values():
            np.dtype(dtype)  # every entry is a valid numpy dtype
        assert cls.ENTITY_KEYS


def test_pricing_contract():
    assert PricingAgentV1.NAME == "pricing_agent_v1"
    assert PricingAgentV1.FEATURES[:3] == (
        "user_profile:age",
        "user_profile:city",
        "user_behavior:sessions_7d",
    )
    assert PricingAgentV1.DTYPES["user_profile:city"] is object
    assert PricingAgentV1.DTYPES["user_behavior:is_premium"] is np.bool_
    assert PricingAgentV1.ENTITY_KEYS == {"user_id": np.int64}


def fake_response(names, dtypes) -> serving_pb2.GetOnlineFeaturesResponse:
    """One present row with a zero value of each feature's type."""
    resp = serving_pb2.GetOnlineFeaturesResponse(row_count=1)
    for name in names:
        vt = _NUMPY_TYPE[np.dtype(dtypes[name])]
        col = resp.columns.add(name=name, value_type=vt, statuses=[1])
        field = {
            types_pb2.VALUE_TYPE_INT64: col.int64_values.values,
            types_pb2.VALUE_TYPE_DOUBLE: col.double_values.values,
            types_pb2.VALUE_TYPE_BOOL: col.bool_values.values,
            types_pb2.VALUE_TYPE_STRING: col.string_values.values,
            types_pb2.VALUE_TYPE_TIMESTAMP: col.timestamp_values.unix_micros,
        }[vt]
        field.append("" if vt == types_pb2.VALUE_TYPE_STRING else 0)
    return resp


def test_from_response_columns_have_the_declared_dtypes():
    resp = fake_response(PricingAgentV1.FEATURES, PricingAgentV1.DTYPES)
    feats = PricingAgentV1.from_response(resp)
    assert isinstance(feats, OnlineFeatures)
    for name, dtype in PricingAgentV1.DTYPES.items():
        assert feats.columns[name].dtype == np.dtype(dtype), name


def test_from_response_rejects_another_order():
    names = list(reversed(PricingAgentV1.FEATURES))
    with pytest.raises(FloeError, match="make generate"):
        PricingAgentV1.from_response(fake_response(names, PricingAgentV1.DTYPES))
