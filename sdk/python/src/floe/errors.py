"""Exceptions raised by the Floe client.

gRPC failures are re-raised as a FloeError subclass chosen by status code, so
callers catch ``floe.InvalidArgument`` rather than inspecting ``grpc.RpcError``
codes. The server's message is kept verbatim: it names the offending feature,
service or key.
"""

from __future__ import annotations

import grpc

__all__ = [
    "FloeError",
    "InvalidArgument",
    "NotFound",
    "Unavailable",
    "DeadlineExceeded",
    "from_rpc_error",
]


class FloeError(Exception):
    """Base class of every error the Floe client raises.

    Attributes:
        message: The server's (or the client's) explanation.
        code: The gRPC status code behind the error.
    """

    default_code: grpc.StatusCode = grpc.StatusCode.UNKNOWN

    def __init__(self, message: str, code: grpc.StatusCode | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code if code is not None else self.default_code

    def __str__(self) -> str:
        return self.message


class InvalidArgument(FloeError, ValueError):
    """The request was malformed: an unknown feature or service, a join key
    missing or of the wrong type, columns of different lengths."""

    default_code = grpc.StatusCode.INVALID_ARGUMENT


class NotFound(FloeError, LookupError):
    """A named definition (entity, view, service) does not exist.

    Unknown entity rows are not errors: they come back with status NOT_FOUND.
    """

    default_code = grpc.StatusCode.NOT_FOUND


class Unavailable(FloeError):
    """The server, or every store it could read from, could not be reached."""

    default_code = grpc.StatusCode.UNAVAILABLE


class DeadlineExceeded(FloeError):
    """The call did not finish within its timeout."""

    default_code = grpc.StatusCode.DEADLINE_EXCEEDED


_BY_CODE: dict[grpc.StatusCode, type[FloeError]] = {
    cls.default_code: cls
    for cls in (InvalidArgument, NotFound, Unavailable, DeadlineExceeded)
}


def from_rpc_error(err: grpc.RpcError) -> FloeError:
    """Returns the FloeError matching a failed gRPC call's status code."""
    code = err.code() if isinstance(err, grpc.Call) else grpc.StatusCode.UNKNOWN
    details = err.details() if isinstance(err, grpc.Call) else None
    message = details or f"{code.name.lower()}: {err}"
    return _BY_CODE.get(code, FloeError)(message, code)
