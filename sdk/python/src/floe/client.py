"""gRPC client of a Floe server.

The server speaks Connect, gRPC, gRPC-Web and JSON on one port; this client uses
gRPC over HTTP/2 (cleartext h2c for ``http://`` targets), the protocol grpcio
speaks natively.
"""

from __future__ import annotations

import datetime

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Union
from urllib.parse import urlsplit

import grpc
import numpy as np

from floe.errors import InvalidArgument, from_rpc_error
from floe.online import OnlineFeatures
from floe.training import (
    EntityTable,
    RetrievalProgress,
    TrainingData,
    TrainingStream,
    progress_callback,
)
from floe.v1 import (
    training_pb2,
    training_pb2_grpc,
    registry_pb2,
    registry_pb2_grpc,
    serving_pb2,
    serving_pb2_grpc,
    types_pb2,
)

__all__ = [
    "Client",
    "OnlineFeatures",
    "TrainingData",
    "TrainingStream",
    "build_request",
    "parse_target",
]

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1


def parse_target(target: str) -> tuple[str, bool]:
    """Splits a server address into a gRPC target and whether to use TLS.

    "127.0.0.1:8080" and "http://127.0.0.1:8080" give a cleartext channel;
    "https://host:443" gives TLS. A path after the address is rejected: gRPC
    routes by service name, so it would be silently ignored.
    """
    if "://" not in target:
        if not target or "/" in target:
            raise ValueError(f"server address {target!r} is not host:port or a URL")
        return target, False
    url = urlsplit(target)
    if url.scheme not in ("http", "https"):
        raise ValueError(f"server URL {target!r} must use http:// or https://")
    if not url.netloc:
        raise ValueError(f"server URL {target!r} has no host")
    if url.path not in ("", "/") or url.query or url.fragment:
        raise ValueError(f"server URL {target!r} must not have a path or query")
    netloc = url.netloc
    if url.port is None:
        netloc = f"{netloc}:{443 if url.scheme == 'https' else 80}"
    return netloc, url.scheme == "https"


def _entity_column(key: str, values: Any) -> serving_pb2.EntityColumn:
    """Builds the request column of one join key, typed by its values."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
        raise InvalidArgument(
            f"entities[{key!r}] must be a sequence of ids, one per row "
            f"(got {type(values).__name__}); wrap a single id in a list"
        )
    if isinstance(values, np.ndarray):
        if values.ndim != 1:
            raise InvalidArgument(
                f"entities[{key!r}] must be 1-D, got shape {values.shape}"
            )
        kind = values.dtype.kind
        if kind in "iu":
            if kind == "u" and values.size and values.max() > _INT64_MAX:
                raise InvalidArgument(f"entities[{key!r}] has ids beyond int64")
            return serving_pb2.EntityColumn(
                join_key=key,
                int64_values=types_pb2.Int64List(
                    values=values.astype(np.int64).tolist()
                ),
            )
        if kind == "U":
            return serving_pb2.EntityColumn(
                join_key=key,
                string_values=types_pb2.StringList(values=values.tolist()),
            )
        if kind != "O":
            raise InvalidArgument(
                f"entities[{key!r}] has dtype {values.dtype}; ids must be integers "
                "or strings"
            )
        values = values.tolist()
    items = list(values)
    if all(isinstance(v, str) for v in items) and items:
        return serving_pb2.EntityColumn(
            join_key=key, string_values=types_pb2.StringList(values=items)
        )
    ints: list[int] = []
    for v in items:
        # bool is an int subclass, but True is never meant as id 1.
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
            raise InvalidArgument(
                f"entities[{key!r}] mixes or holds unsupported id types "
                f"({type(v).__name__} {v!r}); use all int or all str"
            )
        if not _INT64_MIN <= int(v) <= _INT64_MAX:
            raise InvalidArgument(f"entities[{key!r}] id {v} does not fit in int64")
        ints.append(int(v))
    return serving_pb2.EntityColumn(
        join_key=key, int64_values=types_pb2.Int64List(values=ints)
    )


AsOf = Union[datetime.datetime, Mapping[str, int]]
"""A past point to read at: an aware datetime (naive ones are taken as UTC), or
exact Iceberg snapshot ids per feature view (as a response's snapshot_ids report)."""


def as_of_proto(point: AsOf) -> serving_pb2.AsOf:
    """Converts a datetime or a {view: snapshot_id} mapping to a floe.v1.AsOf."""
    msg = serving_pb2.AsOf()
    if isinstance(point, datetime.datetime):
        if point.tzinfo is None:
            point = point.replace(tzinfo=datetime.timezone.utc)
        msg.time.FromDatetime(point.astimezone(datetime.timezone.utc))
    elif isinstance(point, Mapping):
        for view, snapshot in point.items():
            msg.snapshots.snapshot_ids[str(view)] = int(snapshot)
    else:
        raise InvalidArgument(
            f"as_of must be a datetime or a {{view: snapshot_id}} mapping, got {type(point).__name__}"
        )
    return msg


def build_request(
    service_or_features: str | Sequence[str],
    entities: Mapping[str, Any],
    as_of: AsOf | None = None,
) -> serving_pb2.GetOnlineFeaturesRequest:
    """Builds a GetOnlineFeaturesRequest.

    Args:
        service_or_features: A feature service name, or a list of "view:feature"
            references answered in that order.
        entities: Join key name to one id per row, e.g. ``{"user_id": [1, 2]}``.
            int ids (or an integer numpy array) are sent as int64, str ids as
            strings; the server checks them against the entity's key type.
        as_of: Read as of a past point instead of the latest values (see AsOf).
    """
    req = serving_pb2.GetOnlineFeaturesRequest()
    if as_of is not None:
        req.as_of.CopyFrom(as_of_proto(as_of))
    if isinstance(service_or_features, str):
        if ":" in service_or_features:
            raise InvalidArgument(
                f"{service_or_features!r} is a feature reference, not a feature "
                f"service name; pass a list: [{service_or_features!r}]"
            )
        req.feature_service = service_or_features
    else:
        refs = list(service_or_features)
        bad = [r for r in refs if not isinstance(r, str)]
        if bad:
            raise InvalidArgument(f"feature references must be str, got {bad[0]!r}")
        req.features.refs.extend(refs)
    if not entities:
        raise InvalidArgument("entities is empty: give at least one join key column")
    lengths = {}
    for key, values in entities.items():
        col = _entity_column(key, values)
        which = col.WhichOneof("values")
        lengths[key] = len(getattr(col, which).values)
        req.entities.append(col)
    if len(set(lengths.values())) > 1:
        raise InvalidArgument(
            f"entity columns have different lengths {lengths}; give one id per row "
            "in every column"
        )
    return req


def _historical_request(
    service_or_features: str | Sequence[str],
    entity_rows: Any,
    snapshot_ids: Mapping[str, int] | None,
) -> training_pb2.GetHistoricalFeaturesRequest:
    """Builds a GetHistoricalFeaturesRequest carrying entity_rows (a pyarrow
    Table) as one Arrow IPC stream, or naming an EntityTable."""
    request = training_pb2.GetHistoricalFeaturesRequest(
        snapshot_ids=dict(snapshot_ids or {}),
    )
    if isinstance(entity_rows, EntityTable):
        request.entity_table.table = entity_rows.table
        request.entity_table.snapshot_id = entity_rows.snapshot_id
    else:
        import pyarrow as pa

        # The system allocator hands this buffer back to the OS once it is
        # copied into the message; arrow's default pool (mimalloc) would keep it.
        sink = pa.BufferOutputStream(memory_pool=pa.system_memory_pool())
        with pa.ipc.new_stream(sink, entity_rows.schema) as writer:
            writer.write_table(entity_rows)
        request.entity_rows_arrow_ipc = sink.getvalue().to_pybytes()
    base = build_request(service_or_features, {"_": [0]})
    if base.HasField("features"):
        request.features.CopyFrom(base.features)
    else:
        request.feature_service = base.feature_service
    return request


class Client:
    """A connection to a Floe server.

    Example::

        client = floe.Client("http://127.0.0.1:8080")
        feats = client.get_online_features("pricing_agent_v1", {"user_id": [1, 2]})
        x = feats.to_numpy()

    The client is thread-safe and keeps one HTTP/2 connection; create it once
    and reuse it. Use it as a context manager, or call close(), to release it.
    """

    def __init__(
        self,
        target: str,
        *,
        options: Sequence[tuple[str, Any]] | None = None,
        credentials: grpc.ChannelCredentials | None = None,
    ) -> None:
        """Connects lazily to target ("host:port", "http://host:port" or
        "https://host:port"). options are grpc channel options; credentials
        override the default TLS credentials of https targets."""
        address, tls = parse_target(target)
        opts = list(options or [])
        if tls or credentials is not None:
            creds = credentials or grpc.ssl_channel_credentials()
            self._channel = grpc.secure_channel(address, creds, options=opts)
        else:
            self._channel = grpc.insecure_channel(address, options=opts)
        self.target = address
        self._serving = serving_pb2_grpc.ServingServiceStub(self._channel)
        self._registry = registry_pb2_grpc.RegistryServiceStub(self._channel)
        self._training = training_pb2_grpc.TrainingServiceStub(self._channel)

    def get_online_features(
        self,
        service_or_features: str | Sequence[str],
        entities: Mapping[str, Any],
        timeout: float | None = None,
        *,
        as_of: AsOf | None = None,
    ) -> OnlineFeatures:
        """Reads the latest feature values of a batch of entity rows (or, with
        as_of, the values the online store held at a past point, from Iceberg).

        Args:
            service_or_features: A feature service name (its spec fixes the
                feature order), or a list of "view:feature" references.
            entities: Join key name to one id per row, e.g.
                ``{"user_id": [1, 2, 3]}``; lists or 1-D numpy arrays of int or
                str.
            timeout: Seconds before the call fails with DeadlineExceeded.
            as_of: A datetime, or {view: snapshot_id} to replay exact snapshots.

        Returns:
            The values as numpy arrays; unknown entities come back with status
            NOT_FOUND rather than as an error.

        Raises:
            InvalidArgument: Unknown service or feature, missing join key, ids
                of the wrong type.
            Unavailable: The server (or every store behind it) is unreachable.
            FloeError: Any other failure.
        """
        response = self.get_online_features_proto(
            service_or_features, entities, timeout=timeout, as_of=as_of
        )
        return OnlineFeatures.from_response(response)

    def get_online_features_proto(
        self,
        service_or_features: str | Sequence[str],
        entities: Mapping[str, Any],
        timeout: float | None = None,
        *,
        as_of: AsOf | None = None,
    ) -> serving_pb2.GetOnlineFeaturesResponse:
        """Like get_online_features, but returns the response message as is."""
        request = build_request(service_or_features, entities, as_of=as_of)
        try:
            response: serving_pb2.GetOnlineFeaturesResponse = (
                self._serving.GetOnlineFeatures(request, timeout=timeout)
            )
        except grpc.RpcError as err:
            raise from_rpc_error(err) from err
        return response

    def diff_features(
        self,
        service_or_features: str | Sequence[str],
        entity: Mapping[str, Any],
        from_: AsOf,
        to: AsOf | None = None,
        timeout: float | None = None,
    ) -> tuple[OnlineFeatures, OnlineFeatures, tuple[str, ...]]:
        """Compares one entity's features at two points in time.

        Args:
            entity: One id per join key, e.g. ``{"user_id": 42}`` (or a list of one).
            from_: The earlier point; to: the later one (default: now).

        Returns:
            The features at each point (one row each) and the names of those whose
            value or status changed.
        """
        rows = {
            k: v if isinstance(v, (list, tuple)) else [v] for k, v in entity.items()
        }
        base = build_request(service_or_features, rows)
        request = serving_pb2.DiffFeaturesRequest(entities=base.entities)
        if base.HasField("features"):
            request.features.CopyFrom(base.features)
        else:
            request.feature_service = base.feature_service
        getattr(request, "from").CopyFrom(as_of_proto(from_))
        if to is not None:
            request.to.CopyFrom(as_of_proto(to))
        try:
            response: serving_pb2.DiffFeaturesResponse = self._serving.DiffFeatures(
                request, timeout=timeout
            )
        except grpc.RpcError as err:
            raise from_rpc_error(err) from err
        return (
            OnlineFeatures.from_response(getattr(response, "from")),
            OnlineFeatures.from_response(response.to),
            tuple(response.changed),
        )

    def stream_training_data(
        self,
        service_or_features: str | Sequence[str],
        entity_rows: Any,
        snapshot_ids: Mapping[str, int] | None = None,
        timeout: float | None = None,
        progress: Callable[[RetrievalProgress], None] | bool | None = None,
    ) -> TrainingStream:
        """Starts building point-in-time correct training data on the server and
        returns its record batches as they arrive.

        For each entity row and feature view, the server joins the latest value with
        event time <= the row's ``event_time`` and within the view's TTL, never a
        later one; rows with no such value get nulls. Transformed features come
        back transformed, by the code that serves them online.

        Args:
            service_or_features: A feature service name (its spec fixes the
                feature order), or a list of "view:feature" references.
            entity_rows: A pyarrow Table (or anything ``pyarrow.table`` accepts, such
                as a dict of columns) with one column per join key and an
                ``event_time`` timestamp column. Other columns (labels, weights)
                come back unchanged, as the first columns of every batch. Or an
                Iceberg table of such rows in the server's catalog: an
                EntityTable, or its "namespace.table" name as a str.
            snapshot_ids: Iceberg snapshot per view to read, e.g. a previous
                manifest's ``snapshot_ids``, to rebuild that dataset exactly.
            timeout: Seconds for the whole call, reading included.
            progress: Called with a RetrievalProgress as the server reports
                what it does (waiting its turn, reading each view, sending
                rows); True prints a status line on stderr (print_progress).

        Returns:
            A TrainingStream: iterate it for pyarrow RecordBatches; it knows the
            schema and feature columns at once, the manifest at the end.

        Raises:
            InvalidArgument: Unknown service or feature; entity rows without an
                ``event_time`` column or join key, or with a null event_time.
            FloeError: Any other failure.
        """
        import pyarrow as pa  # optional dependency: pip install 'floe[training]'

        on_progress = progress_callback(progress)
        if isinstance(entity_rows, str):
            entity_rows = EntityTable(entity_rows)
        columns: list[str] | None = None
        rows: int | None = None
        if isinstance(entity_rows, EntityTable):
            table: Any = entity_rows
        else:
            table = (
                entity_rows
                if isinstance(entity_rows, pa.Table)
                else pa.table(entity_rows)
            )
            columns, rows = table.column_names, table.num_rows
        request = _historical_request(service_or_features, table, snapshot_ids)
        try:
            call = self._training.GetHistoricalFeatures(request, timeout=timeout)
        except grpc.RpcError as err:
            raise from_rpc_error(err) from err
        # The server answers once it has joined every row; meanwhile, hold no
        # second copy of the entity rows (the call keeps what it sends).
        del request
        return TrainingStream(call, columns, rows, on_progress)

    def get_training_data(
        self,
        service_or_features: str | Sequence[str],
        entity_rows: Any,
        snapshot_ids: Mapping[str, int] | None = None,
        timeout: float | None = None,
        progress: Callable[[RetrievalProgress], None] | bool | None = None,
    ) -> TrainingData:
        """Builds point-in-time correct training data and reads it into memory.

        Takes the arguments of stream_training_data, and reads the stream into one
        table (holding the dataset once: the stream's bytes are not kept).

        Returns:
            A TrainingData, which is a (table, manifest) named tuple:
            ``table, manifest = client.get_training_data(...)`` gives the pyarrow
            Table (entity columns, then the feature columns in the service's
            order, then ``<view>__event_time`` per view) and the dataset manifest
            (snapshots read, spec hash, row count); ``data.to_numpy()`` gives the
            features as a matrix in the service's order.
        """
        with self.stream_training_data(
            service_or_features,
            entity_rows,
            snapshot_ids=snapshot_ids,
            timeout=timeout,
            progress=progress,
        ) as stream:
            return stream.read_all()

    def registry(
        self, timeout: float | None = None
    ) -> registry_pb2.GetRegistryResponse:
        """Returns every definition the server runs with, and the registry version."""
        try:
            response: registry_pb2.GetRegistryResponse = self._registry.GetRegistry(
                registry_pb2.GetRegistryRequest(), timeout=timeout
            )
        except grpc.RpcError as err:
            raise from_rpc_error(err) from err
        return response

    def close(self) -> None:
        """Closes the connection; later calls fail."""
        self._channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Client({self.target!r})"
