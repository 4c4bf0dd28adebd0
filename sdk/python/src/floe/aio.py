"""asyncio client of a Floe server, over grpc.aio.

``AsyncClient`` has the reads of ``Client`` as coroutines, with the same
arguments and results: online features (latest or as of a past point), diffs,
the registry, and training data read into memory. It takes the same channel
settings (TLS, call credentials, metadata, retry policy)::

    async with floe.AsyncClient("http://127.0.0.1:8080") as client:
        feats = await client.get_online_features("pricing_agent_v1", {"user_id": [1, 2]})

Create it inside the event loop that uses it (grpc.aio binds a channel to its
loop).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import grpc
import grpc.aio

from floe.client import (
    AsOf,
    ChannelSettings,
    Metadata,
    RetryPolicy,
    build_request,
    diff_request,
    diff_result,
    training_request,
)
from floe.errors import from_rpc_error
from floe.online import OnlineFeatures
from floe.progress import progress_callback
from floe.training import (
    RetrievalProgress,
    TrainingData,
    TrainingStream,
)
from floe.v1 import (
    registry_pb2,
    registry_pb2_grpc,
    serving_pb2,
    serving_pb2_grpc,
    training_pb2,
    training_pb2_grpc,
)

__all__ = ["AsyncClient"]


class AsyncClient:
    """An asyncio connection to a Floe server (see Client for the methods'
    arguments). Use it as an async context manager, or await close()."""

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
        """Connects lazily to target; the arguments are Client's."""
        settings = ChannelSettings.create(
            target, options, credentials, call_credentials, metadata, retry
        )
        self._settings = settings
        if settings.credentials is not None:
            self._channel = grpc.aio.secure_channel(
                settings.address, settings.credentials, options=settings.options
            )
        else:
            self._channel = grpc.aio.insecure_channel(
                settings.address, options=settings.options
            )
        self.target = settings.address
        self._serving = serving_pb2_grpc.ServingServiceStub(self._channel)
        self._registry = registry_pb2_grpc.RegistryServiceStub(self._channel)
        self._training = training_pb2_grpc.TrainingServiceStub(self._channel)

    async def get_online_features(
        self,
        service_or_features: str | Sequence[str],
        entities: Mapping[str, Any],
        timeout: float | None = None,
        *,
        as_of: AsOf | None = None,
        metadata: Metadata | None = None,
        credentials: grpc.CallCredentials | None = None,
    ) -> OnlineFeatures:
        """Reads the latest feature values of a batch of entity rows (see
        Client.get_online_features)."""
        response = await self.get_online_features_proto(
            service_or_features,
            entities,
            timeout=timeout,
            as_of=as_of,
            metadata=metadata,
            credentials=credentials,
        )
        return OnlineFeatures.from_response(response)

    async def get_online_features_proto(
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
                await self._serving.GetOnlineFeatures(
                    request, **self._settings.call_options(timeout, metadata, credentials)
                )
            )
        except grpc.RpcError as err:
            raise from_rpc_error(err) from err
        return response

    async def diff_features(
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
        """Compares one entity's features at two points in time (see
        Client.diff_features)."""
        request = diff_request(service_or_features, entity, from_, to)
        try:
            response: serving_pb2.DiffFeaturesResponse = await self._serving.DiffFeatures(
                request, **self._settings.call_options(timeout, metadata, credentials)
            )
        except grpc.RpcError as err:
            raise from_rpc_error(err) from err
        return diff_result(response)

    async def get_training_data(
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
        """Builds point-in-time correct training data and reads it into memory
        (see Client.get_training_data; needs pyarrow).

        The response messages are gathered as they arrive, without blocking the
        event loop, then decoded: the dataset is in memory twice for a moment,
        as Arrow bytes and as the table. For datasets near the memory's size,
        use Client.stream_training_data in a thread.
        """
        on_progress = progress_callback(progress)
        request, columns, rows = training_request(
            service_or_features, entity_rows, snapshot_ids
        )
        messages: list[training_pb2.GetHistoricalFeaturesResponse] = []
        call = self._training.GetHistoricalFeatures(
            request, **self._settings.call_options(timeout, metadata, credentials)
        )
        del request
        try:
            async for message in call:
                if message.WhichOneof("payload") == "progress":
                    # Reported now, as it comes, not when the messages are decoded.
                    if on_progress is not None:
                        TrainingStream.report(message.progress, on_progress)
                    continue
                messages.append(message)
        except grpc.RpcError as err:
            raise from_rpc_error(err) from err
        finally:
            finish = getattr(on_progress, "close", None)
            if finish is not None:
                finish()
        with TrainingStream(iter(messages), columns, rows) as stream:
            return stream.read_all()

    async def registry(
        self,
        timeout: float | None = None,
        *,
        metadata: Metadata | None = None,
        credentials: grpc.CallCredentials | None = None,
    ) -> registry_pb2.GetRegistryResponse:
        """Returns every definition the server runs with, and the registry version."""
        try:
            response: registry_pb2.GetRegistryResponse = await self._registry.GetRegistry(
                registry_pb2.GetRegistryRequest(),
                **self._settings.call_options(timeout, metadata, credentials),
            )
        except grpc.RpcError as err:
            raise from_rpc_error(err) from err
        return response

    async def close(self) -> None:
        """Closes the connection; later calls fail."""
        await self._channel.close()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"AsyncClient({self.target!r})"
