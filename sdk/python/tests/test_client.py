"""Unit tests of request building, target parsing and error mapping.

Error mapping runs against an in-process grpcio server implementing the
generated servicer, so the client's real gRPC path is exercised without the Go
server.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent import futures

import grpc
import numpy as np
import pytest

import floe
from floe import (
    Client,
    InvalidArgument,
    NotFound,
    Unavailable,
    build_request,
    parse_target,
)
from floe.v1 import (
    registry_pb2,
    registry_pb2_grpc,
    serving_pb2,
    serving_pb2_grpc,
    types_pb2,
)


@pytest.mark.parametrize(
    "target, want",
    [
        ("127.0.0.1:8080", ("127.0.0.1:8080", False)),
        ("http://127.0.0.1:8080", ("127.0.0.1:8080", False)),
        ("http://127.0.0.1:8080/", ("127.0.0.1:8080", False)),
        ("http://localhost", ("localhost:80", False)),
        ("https://floe.example.com", ("floe.example.com:443", True)),
        ("https://floe.example.com:8443", ("floe.example.com:8443", True)),
    ],
)
def test_parse_target(target, want):
    assert parse_target(target) == want


@pytest.mark.parametrize(
    "target", ["", "ftp://host:1", "http://", "http://host:1/api", "host:1/api"]
)
def test_parse_target_rejects(target):
    with pytest.raises(ValueError):
        parse_target(target)


def test_request_for_service_with_int_ids():
    req = build_request("pricing_agent_v1", {"user_id": [1, 2, 3]})
    assert req.WhichOneof("selector") == "feature_service"
    assert req.feature_service == "pricing_agent_v1"
    (col,) = req.entities
    assert col.join_key == "user_id"
    assert col.WhichOneof("values") == "int64_values"
    assert list(col.int64_values.values) == [1, 2, 3]


def test_request_for_refs_with_string_ids():
    req = build_request(["v:a", "w:b"], {"card_id": ["c1", "c2"]})
    assert req.WhichOneof("selector") == "features"
    assert list(req.features.refs) == ["v:a", "w:b"]
    assert list(req.entities[0].string_values.values) == ["c1", "c2"]


@pytest.mark.parametrize(
    "ids, which, values",
    [
        (np.array([5, 6], dtype=np.int32), "int64_values", [5, 6]),
        (np.array([5, 6], dtype=np.uint64), "int64_values", [5, 6]),
        (np.array(["a", "b"]), "string_values", ["a", "b"]),
        (np.array(["a", "b"], dtype=object), "string_values", ["a", "b"]),
        ((np.int64(2**62), 1), "int64_values", [2**62, 1]),
        (range(3), "int64_values", [0, 1, 2]),
    ],
)
def test_request_accepts_numpy_and_sequences(ids, which, values):
    col = build_request("s", {"k": ids}).entities[0]
    assert col.WhichOneof("values") == which
    assert list(getattr(col, which).values) == values


@pytest.mark.parametrize(
    "entities, message",
    [
        ({"k": [1, "a"]}, "use all int or all str"),
        ({"k": [True, False]}, "unsupported id types"),
        ({"k": [1.5]}, "unsupported id types"),
        ({"k": np.array([1.0, 2.0])}, "dtype float64"),
        ({"k": np.array([[1, 2]])}, "must be 1-D"),
        ({"k": "user-1"}, "wrap a single id in a list"),
        ({"k": 7}, "must be a sequence"),
        ({"k": [2**63]}, "does not fit in int64"),
        ({"k": np.array([2**64 - 1], dtype=np.uint64)}, "beyond int64"),
        ({"a": [1, 2], "b": [1]}, "different lengths"),
        ({}, "entities is empty"),
    ],
)
def test_request_rejects_bad_entities(entities, message):
    with pytest.raises(InvalidArgument, match=message):
        build_request("s", entities)


def test_request_rejects_ref_passed_as_service():
    with pytest.raises(InvalidArgument, match=r"pass a list: \['v:a'\]"):
        build_request("v:a", {"k": [1]})


def test_invalid_argument_is_a_value_error():
    # Callers that only know Python's conventions still catch it.
    assert issubclass(floe.InvalidArgument, ValueError)
    assert issubclass(floe.NotFound, LookupError)


class FakeServing(serving_pb2_grpc.ServingServiceServicer):
    """Answers like the real server for the cases the client must translate."""

    def GetOnlineFeatures(self, request, context):
        if request.feature_service == "nope":
            context.abort(
                grpc.StatusCode.INVALID_ARGUMENT, 'unknown feature service "nope"'
            )
        if request.feature_service == "down":
            context.abort(grpc.StatusCode.UNAVAILABLE, "online store unreachable")
        if request.feature_service == "gone":
            context.abort(grpc.StatusCode.NOT_FOUND, "gone")
        if request.feature_service == "boom":
            context.abort(grpc.StatusCode.INTERNAL, "boom")
        n = len(request.entities[0].int64_values.values)
        return serving_pb2.GetOnlineFeaturesResponse(
            row_count=n,
            registry_version="v1",
            columns=[
                serving_pb2.FeatureColumn(
                    name="v:x",
                    value_type=types_pb2.VALUE_TYPE_DOUBLE,
                    double_values=types_pb2.DoubleList(
                        values=[
                            float(i) for i in request.entities[0].int64_values.values
                        ]
                    ),
                    statuses=[serving_pb2.FEATURE_STATUS_PRESENT] * n,
                )
            ],
        )


class FakeRegistry(registry_pb2_grpc.RegistryServiceServicer):
    def GetRegistry(self, request, context):
        return registry_pb2.GetRegistryResponse(version="v1")


@pytest.fixture(scope="module")
def fake_server() -> Iterator[str]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    serving_pb2_grpc.add_ServingServiceServicer_to_server(FakeServing(), server)
    registry_pb2_grpc.add_RegistryServiceServicer_to_server(FakeRegistry(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop(grace=None)


def test_client_round_trip(fake_server):
    with Client(fake_server) as client:
        feats = client.get_online_features("ok", {"user_id": [3, 4]}, timeout=10)
        assert feats.columns["v:x"].tolist() == [3.0, 4.0]
        assert client.registry(timeout=10).version == "v1"


@pytest.mark.parametrize(
    "service, cls, message",
    [
        ("nope", InvalidArgument, 'unknown feature service "nope"'),
        ("down", Unavailable, "online store unreachable"),
        ("gone", NotFound, "gone"),
        ("boom", floe.FloeError, "boom"),
    ],
)
def test_client_translates_grpc_errors(fake_server, service, cls, message):
    with Client(fake_server) as client:
        with pytest.raises(cls) as info:
            client.get_online_features(service, {"user_id": [1]}, timeout=10)
    assert str(info.value) == message
    assert info.value.message == message
    assert isinstance(info.value.__cause__, grpc.RpcError)


def test_unreachable_server_is_unavailable():
    # Port 1 on loopback refuses connections immediately on Linux.
    with Client("127.0.0.1:1") as client:
        with pytest.raises(Unavailable):
            client.get_online_features("s", {"k": [1]}, timeout=10)
