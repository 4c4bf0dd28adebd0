"""Python client of the Floe feature platform.

``Client`` reads online features over gRPC and returns them as numpy arrays
(``OnlineFeatures``). Typed contracts of each project's feature services are
generated from the specs into ``floe.features.<project>``; the raw protobuf
messages and gRPC stubs are in ``floe.v1``.
"""

from floe.client import Client, build_request, parse_target
from floe.errors import (
    DeadlineExceeded,
    FloeError,
    InvalidArgument,
    NotFound,
    Unavailable,
)
from floe.online import OnlineFeatures

__all__ = [
    "Client",
    "DeadlineExceeded",
    "FloeError",
    "InvalidArgument",
    "NotFound",
    "OnlineFeatures",
    "Unavailable",
    "build_request",
    "parse_target",
]

__version__ = "0.1.0"
