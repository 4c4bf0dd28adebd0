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
    "REQUEST_ID_KEY",
    "from_rpc_error",
    "request_id_of",
]


class FloeError(Exception):
    """Base class of every error the Floe client raises.

    Attributes:
        message: The server's (or the client's) explanation.
        code: The gRPC status code behind the error.
        request_id: The id the server logged the call under (its
            ``x-request-id``), to find the call in the server's logs and decision
            log; None when the error did not come from the server.
    """

    default_code: grpc.StatusCode = grpc.StatusCode.UNKNOWN

    def __init__(
        self,
        message: str,
        code: grpc.StatusCode | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code if code is not None else self.default_code
        self.request_id = request_id

    def __str__(self) -> str:
        if self.request_id:
            return f"{self.message} (request id {self.request_id})"
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


REQUEST_ID_KEY = "x-request-id"
"""The metadata key of a call's request id: the server answers with it (in the
headers, or the trailers of an error), and takes a caller's own if one is sent."""


def request_id_of(call: object) -> str | None:
    """Returns the x-request-id a finished call's server sent, if any."""
    for get in ("trailing_metadata", "initial_metadata"):
        try:
            metadata = getattr(call, get)()
        except Exception:  # an aborted call may have no metadata to give
            continue
        for key, value in metadata or ():
            if key.lower() == REQUEST_ID_KEY:
                return value if isinstance(value, str) else value.decode()
    return None


def from_rpc_error(err: grpc.RpcError) -> FloeError:
    """Returns the FloeError matching a failed gRPC call's status code, with the
    server's message and the call's request id."""
    # grpc.aio's errors are no grpc.Call but have the same methods.
    is_call = isinstance(err, grpc.Call) or callable(getattr(err, "code", None))
    code = err.code() if is_call else grpc.StatusCode.UNKNOWN
    details = err.details() if is_call else None
    message = details or f"{code.name.lower()}: {err}"
    request_id = request_id_of(err) if is_call else None
    return _BY_CODE.get(code, FloeError)(message, code, request_id)
