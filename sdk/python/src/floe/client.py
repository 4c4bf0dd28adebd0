"""gRPC client of a Floe server.

The server speaks Connect, gRPC, gRPC-Web and JSON on one port; this client uses
gRPC over HTTP/2 (cleartext h2c for ``http://`` targets), the protocol grpcio
speaks natively.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Union
from urllib.parse import urlsplit

import grpc
import numpy as np

from floe.errors import InvalidArgument, from_rpc_error
from floe.online import OnlineFeatures
from floe.progress import progress_callback
from floe.training import (
    EntityTable,
    RetrievalProgress,
    TrainingData,
    TrainingStream,
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
    "Metadata",
    "OnlineFeatures",
    "RetryPolicy",
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


def diff_request(
    service_or_features: str | Sequence[str],
    entity: Mapping[str, Any],
    from_: AsOf,
    to: AsOf | None,
) -> serving_pb2.DiffFeaturesRequest:
    """Builds the DiffFeaturesRequest of Client.diff_features."""
    rows = {k: v if isinstance(v, (list, tuple)) else [v] for k, v in entity.items()}
    base = build_request(service_or_features, rows)
    request = serving_pb2.DiffFeaturesRequest(entities=base.entities)
    if base.HasField("features"):
        request.features.CopyFrom(base.features)
    else:
        request.feature_service = base.feature_service
    getattr(request, "from").CopyFrom(as_of_proto(from_))
    if to is not None:
        request.to.CopyFrom(as_of_proto(to))
    return request


def diff_result(
    response: serving_pb2.DiffFeaturesResponse,
) -> tuple[OnlineFeatures, OnlineFeatures, tuple[str, ...]]:
    """Converts a DiffFeaturesResponse to what Client.diff_features returns."""
    return (
        OnlineFeatures.from_response(getattr(response, "from")),
        OnlineFeatures.from_response(response.to),
        tuple(response.changed),
    )


def training_request(
    service_or_features: str | Sequence[str],
    entity_rows: Any,
    snapshot_ids: Mapping[str, int] | None,
) -> tuple[training_pb2.GetHistoricalFeaturesRequest, list[str] | None, int | None]:
    """Builds the request of Client.stream_training_data; returns it with the
    entity rows' column names and row count (None for an EntityTable)."""
    import pyarrow as pa  # optional dependency: pip install 'floe-features[training]'

    if isinstance(entity_rows, str):
        entity_rows = EntityTable(entity_rows)
    columns: list[str] | None = None
    rows: int | None = None
    if isinstance(entity_rows, EntityTable):
        table: Any = entity_rows
    else:
        table = entity_rows if isinstance(entity_rows, pa.Table) else pa.table(entity_rows)
        columns, rows = table.column_names, table.num_rows
    return _historical_request(service_or_features, table, snapshot_ids), columns, rows


Metadata = Sequence[tuple[str, Union[str, bytes]]]
"""gRPC metadata: (key, value) pairs, keys in lower case; binary values under keys
ending in "-bin"."""

# The reads a retry cannot make worse: they change nothing on the server.
_IDEMPOTENT_READS = (
    ("floe.v1.ServingService", "GetOnlineFeatures"),
    ("floe.v1.ServingService", "DiffFeatures"),
    ("floe.v1.RegistryService", "GetRegistry"),
    ("floe.v1.TrainingService", "GetHistoricalFeatures"),
)


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """How a client retries the reads that failed before the server answered.

    gRPC itself retries (a service config retry policy on the channel), so a
    retry resends the request the channel still holds, waits a randomized,
    exponentially growing backoff, and stops at the call's deadline. It applies
    to the idempotent reads only — GetOnlineFeatures, DiffFeatures, GetRegistry,
    and GetHistoricalFeatures until its first message arrives — and to the
    status codes listed, UNAVAILABLE by default (a server restarting, a
    connection reset, a replica going away behind a load balancer).

    Attributes:
        max_attempts: Attempts in all, the first included (gRPC caps it at 5).
        initial_backoff: Seconds before the first retry (randomized up to it).
        max_backoff: The longest wait between two attempts, in seconds.
        backoff_multiplier: Growth of the backoff from one retry to the next.
        retryable_codes: Status codes worth another attempt.
    """

    max_attempts: int = 4
    initial_backoff: float = 0.1
    max_backoff: float = 2.0
    backoff_multiplier: float = 2.0
    retryable_codes: tuple[grpc.StatusCode, ...] = (grpc.StatusCode.UNAVAILABLE,)

    def __post_init__(self) -> None:
        if not 2 <= self.max_attempts <= 5:
            raise ValueError(
                f"max_attempts must be 2 to 5 (gRPC's limit), got {self.max_attempts}; "
                "pass retry=None for no retries"
            )
        if self.initial_backoff <= 0 or self.max_backoff <= 0:
            raise ValueError("backoffs must be positive")
        if self.backoff_multiplier <= 0:
            raise ValueError("backoff_multiplier must be positive")
        if not self.retryable_codes:
            raise ValueError("retryable_codes is empty; pass retry=None for no retries")

    def service_config(self) -> str:
        """Returns the gRPC service config (JSON) that applies this policy."""
        return json.dumps(
            {
                "methodConfig": [
                    {
                        "name": [
                            {"service": service, "method": method}
                            for service, method in _IDEMPOTENT_READS
                        ],
                        "retryPolicy": {
                            "maxAttempts": self.max_attempts,
                            "initialBackoff": f"{self.initial_backoff:.3f}s",
                            "maxBackoff": f"{self.max_backoff:.3f}s",
                            "backoffMultiplier": self.backoff_multiplier,
                            "retryableStatusCodes": [c.name for c in self.retryable_codes],
                        },
                    }
                ]
            }
        )


@dataclasses.dataclass(frozen=True)
class ChannelSettings:
    """How Client and AsyncClient open their channel and call the server;
    built once from the constructor's arguments."""

    address: str
    options: list[tuple[str, Any]]
    credentials: grpc.ChannelCredentials | None
    metadata: tuple[tuple[str, Union[str, bytes]], ...]

    @classmethod
    def create(
        cls,
        target: str,
        options: Sequence[tuple[str, Any]] | None,
        credentials: grpc.ChannelCredentials | None,
        call_credentials: grpc.CallCredentials | None,
        metadata: Metadata | None,
        retry: RetryPolicy | None,
    ) -> ChannelSettings:
        address, tls = parse_target(target)
        opts = list(options or [])
        given = {name for name, _ in opts}
        if retry is not None and "grpc.service_config" not in given:
            opts.append(("grpc.service_config", retry.service_config()))
        if retry is None and "grpc.enable_retries" not in given:
            opts.append(("grpc.enable_retries", 0))
        creds = credentials
        if creds is None and (tls or call_credentials is not None):
            if not tls:
                raise ValueError(
                    "call_credentials need a TLS channel: use an https:// target "
                    "(gRPC never sends credentials in cleartext)"
                )
            creds = grpc.ssl_channel_credentials()
        if call_credentials is not None:
            assert creds is not None
            creds = grpc.composite_channel_credentials(creds, call_credentials)
        return cls(address, opts, creds, tuple(metadata or ()))

    def call_options(
        self,
        timeout: float | None,
        metadata: Metadata | None,
        credentials: grpc.CallCredentials | None,
    ) -> dict[str, Any]:
        """The keyword arguments of one stub call: the client's metadata then
        the call's, the call's credentials (on top of the channel's)."""
        kwargs: dict[str, Any] = {"timeout": timeout}
        merged = self.metadata + tuple(metadata or ())
        if merged:
            kwargs["metadata"] = merged
        if credentials is not None:
            kwargs["credentials"] = credentials
        return kwargs


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
        call_credentials: grpc.CallCredentials | None = None,
        metadata: Metadata | None = None,
        retry: RetryPolicy | None = RetryPolicy(),
    ) -> None:
        """Connects lazily to target ("host:port", "http://host:port" or
        "https://host:port").

        Args:
            options: gRPC channel options, e.g. ``[("grpc.max_receive_message_length", n)]``.
            credentials: Channel credentials: TLS for https targets
                (``grpc.ssl_channel_credentials()`` by default; pass your own
                for a private CA or client certificates).
            call_credentials: Credentials sent with every call (e.g.
                ``grpc.access_token_call_credentials(token)``); they need TLS.
            metadata: Metadata sent with every call, before each call's own.
            retry: Retries of idempotent reads that fail with UNAVAILABLE (see
                RetryPolicy); None for none.
        """
        settings = ChannelSettings.create(
            target, options, credentials, call_credentials, metadata, retry
        )
        self._settings = settings
        if settings.credentials is not None:
            self._channel = grpc.secure_channel(
                settings.address, settings.credentials, options=settings.options
            )
        else:
            self._channel = grpc.insecure_channel(
                settings.address, options=settings.options
            )
        self.target = settings.address
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
        metadata: Metadata | None = None,
        credentials: grpc.CallCredentials | None = None,
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
            metadata: Metadata of this call (after the client's), e.g.
                ``[("x-request-id", "decision-42")]`` to choose the id the server
                logs the call under.
            credentials: Call credentials of this call (TLS channels only).

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
            service_or_features,
            entities,
            timeout=timeout,
            as_of=as_of,
            metadata=metadata,
            credentials=credentials,
        )
        return OnlineFeatures.from_response(response)

    def get_online_features_proto(
        self,
        service_or_features: str | Sequence[str],
        entities: Mapping[str, Any],
        timeout: float | None = None,
        *,
        as_of: AsOf | None = None,
        metadata: Metadata | None = None,
        credentials: grpc.CallCredentials | None = None,
    ) -> serving_pb2.GetOnlineFeaturesResponse:
        """Like get_online_features, but returns the response message as is."""
        request = build_request(service_or_features, entities, as_of=as_of)
        try:
            response: serving_pb2.GetOnlineFeaturesResponse = (
                self._serving.GetOnlineFeatures(
                    request, **self._settings.call_options(timeout, metadata, credentials)
                )
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
        *,
        metadata: Metadata | None = None,
        credentials: grpc.CallCredentials | None = None,
    ) -> tuple[OnlineFeatures, OnlineFeatures, tuple[str, ...]]:
        """Compares one entity's features at two points in time.

        Args:
            entity: One id per join key, e.g. ``{"user_id": 42}`` (or a list of one).
            from_: The earlier point; to: the later one (default: now).

        Returns:
            The features at each point (one row each) and the names of those whose
            value or status changed.
        """
        request = diff_request(service_or_features, entity, from_, to)
        try:
            response: serving_pb2.DiffFeaturesResponse = self._serving.DiffFeatures(
                request, **self._settings.call_options(timeout, metadata, credentials)
            )
        except grpc.RpcError as err:
            raise from_rpc_error(err) from err
        return diff_result(response)

    def stream_training_data(
        self,
        service_or_features: str | Sequence[str],
        entity_rows: Any,
        snapshot_ids: Mapping[str, int] | None = None,
        timeout: float | None = None,
        progress: Callable[[RetrievalProgress], None] | bool | None = None,
        *,
        metadata: Metadata | None = None,
        credentials: grpc.CallCredentials | None = None,
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
                rows); True shows a tqdm progress bar when tqdm is installed,
                else a status line on stderr (print_progress).
            metadata, credentials: As for get_online_features.

        Returns:
            A TrainingStream: iterate it for pyarrow RecordBatches; it knows the
            schema and feature columns at once, the manifest at the end.

        Raises:
            InvalidArgument: Unknown service or feature; entity rows without an
                ``event_time`` column or join key, or with a null event_time.
            FloeError: Any other failure.
        """
        on_progress = progress_callback(progress)
        request, columns, rows = training_request(
            service_or_features, entity_rows, snapshot_ids
        )
        try:
            call = self._training.GetHistoricalFeatures(
                request, **self._settings.call_options(timeout, metadata, credentials)
            )
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
        *,
        metadata: Metadata | None = None,
        credentials: grpc.CallCredentials | None = None,
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
            metadata=metadata,
            credentials=credentials,
        ) as stream:
            return stream.read_all()

    def registry(
        self,
        timeout: float | None = None,
        *,
        metadata: Metadata | None = None,
        credentials: grpc.CallCredentials | None = None,
    ) -> registry_pb2.GetRegistryResponse:
        """Returns every definition the server runs with, and the registry version."""
        try:
            response: registry_pb2.GetRegistryResponse = self._registry.GetRegistry(
                registry_pb2.GetRegistryRequest(),
                **self._settings.call_options(timeout, metadata, credentials),
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
