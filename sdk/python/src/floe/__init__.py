"""Python client of the Floe feature platform.

``Client`` reads online features over gRPC and returns them as numpy arrays
(``OnlineFeatures``); ``AsyncClient`` does the same reads as coroutines
(grpc.aio). Typed contracts of each project's feature services are
generated from the specs into ``floe.features.<project>``; the raw protobuf
messages and gRPC stubs are in ``floe.v1``.

Training data (needs pyarrow) streams from the server as ``TrainingStream``
batches, reads into memory as ``TrainingData`` (numpy in the service's order),
spools to a memory-mapped file (``floe.spool``), or feeds ``model.fit`` as a
Keras PyDataset (``floe.keras_data``, which imports keras).
"""

from floe._version import __version__
from floe.aio import AsyncClient
from floe.client import Client, RetryPolicy, build_request, parse_target
from floe.errors import (
    DeadlineExceeded,
    FloeError,
    InvalidArgument,
    NotFound,
    Unavailable,
)
from floe.online import OnlineFeatures
from floe.training import (
    EntityTable,
    RetrievalProgress,
    TrainingData,
    TrainingStream,
    print_progress,
)

__all__ = [
    "AsyncClient",
    "Client",
    "DeadlineExceeded",
    "FloeError",
    "InvalidArgument",
    "NotFound",
    "OnlineFeatures",
    "RetrievalProgress",
    "RetryPolicy",
    "TrainingData",
    "TrainingStream",
    "EntityTable",
    "Unavailable",
    "build_request",
    "parse_target",
    "print_progress",
]
