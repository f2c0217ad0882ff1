"""Exceptions raised by nas_client: one class per gRPC status code.

Every failed call raises a subclass of ``NasError`` instead of a bare
``grpc.RpcError``; the original error is chained (``__cause__``). Catch the
class that matches what you can do about it, following the service's codes:

- ``InvalidArgument``: the request or spec is wrong; ``.field`` names the
  offending field when the message starts with one (``"budget.max_trials:
  must be > 0"`` gives ``field == "budget.max_trials"``).
- ``NotFound``: no such experiment or candidate.
- ``FailedPrecondition``: the state forbids it (e.g. extending a FAILED
  experiment).
- ``Unauthenticated`` / ``PermissionDenied``: token missing or wrong / of
  the wrong role.
- ``Unavailable``: the controller or its database is unreachable; retrying
  the call later is safe.
- ``ResourceExhausted``: a controller limit (message size, running
  experiments).
- ``DeadlineExceeded``: the call ran past its timeout.
- ``Unimplemented``: the controller is older than this client.
"""

from __future__ import annotations

import re
from typing import Dict, Optional, Type

import grpc

__all__ = [
    "Aborted", "AlreadyExists", "Cancelled", "DataLoss", "DeadlineExceeded",
    "FailedPrecondition", "Internal", "InvalidArgument", "NasError",
    "NotFound", "OutOfRange", "PermissionDenied", "ResourceExhausted",
    "Unauthenticated", "Unavailable", "Unimplemented", "Unknown",
    "error_from_rpc",
]


class NasError(Exception):
    """A call the controller (or the channel) answered with a non-OK status.

    ``code`` is the ``grpc.StatusCode``, ``details`` the server's message,
    ``method`` the RPC's name (e.g. "GetExperiment") when known.
    ``str(error)`` is "CODE_NAME: details", as nasctl prints it.
    """

    code: grpc.StatusCode = grpc.StatusCode.UNKNOWN

    def __init__(self, details: str, *, code: Optional[grpc.StatusCode] = None,
                 method: Optional[str] = None) -> None:
        super().__init__(details)
        if code is not None:
            self.code = code
        self.details = details
        self.method = method

    def __str__(self) -> str:
        return f"{self.code.name}: {self.details}"


class Cancelled(NasError):
    code = grpc.StatusCode.CANCELLED


class Unknown(NasError):
    code = grpc.StatusCode.UNKNOWN


# A field path at the start of a message: "budget.max_trials: ...",
# "spec_yaml: line 3: ...", "search_space.decisions[2].choices: ...".
_FIELD = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*(?:\[[0-9]+\]|\.[A-Za-z_]"
                    r"[A-Za-z0-9_]*)*): ")


class InvalidArgument(NasError):
    """``field``: the field path the message starts with, or None."""

    code = grpc.StatusCode.INVALID_ARGUMENT

    def __init__(self, details: str, *, code: Optional[grpc.StatusCode] = None,
                 method: Optional[str] = None) -> None:
        super().__init__(details, code=code, method=method)
        match = _FIELD.match(details)
        self.field: Optional[str] = match.group(1) if match else None


class DeadlineExceeded(NasError):
    code = grpc.StatusCode.DEADLINE_EXCEEDED


class NotFound(NasError):
    code = grpc.StatusCode.NOT_FOUND


class AlreadyExists(NasError):
    code = grpc.StatusCode.ALREADY_EXISTS


class PermissionDenied(NasError):
    code = grpc.StatusCode.PERMISSION_DENIED


class ResourceExhausted(NasError):
    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class FailedPrecondition(NasError):
    code = grpc.StatusCode.FAILED_PRECONDITION


class Aborted(NasError):
    code = grpc.StatusCode.ABORTED


class OutOfRange(NasError):
    code = grpc.StatusCode.OUT_OF_RANGE


class Unimplemented(NasError):
    code = grpc.StatusCode.UNIMPLEMENTED


class Internal(NasError):
    code = grpc.StatusCode.INTERNAL


class Unavailable(NasError):
    code = grpc.StatusCode.UNAVAILABLE


class DataLoss(NasError):
    code = grpc.StatusCode.DATA_LOSS


class Unauthenticated(NasError):
    code = grpc.StatusCode.UNAUTHENTICATED


_BY_CODE: Dict[grpc.StatusCode, Type[NasError]] = {
    cls.code: cls for cls in (
        Cancelled, Unknown, InvalidArgument, DeadlineExceeded, NotFound,
        AlreadyExists, PermissionDenied, ResourceExhausted,
        FailedPrecondition, Aborted, OutOfRange, Unimplemented, Internal,
        Unavailable, DataLoss, Unauthenticated)
}


def error_from_rpc(error: grpc.RpcError,
                   method: Optional[str] = None) -> NasError:
    """The NasError subclass for a grpc.RpcError (which, from a call, is
    also a grpc.Call with code() and details())."""
    code_fn = getattr(error, "code", None)
    details_fn = getattr(error, "details", None)
    code = code_fn() if callable(code_fn) else grpc.StatusCode.UNKNOWN
    details = (details_fn() if callable(details_fn) else None) or str(error)
    cls = _BY_CODE.get(code, NasError)
    return cls(details, code=code, method=method)
