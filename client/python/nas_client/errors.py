"""Exceptions raised by nas_client: one class per gRPC status code.

Every failed call raises a subclass of ``NasError`` instead of a bare
``grpc.RpcError``; the original error is chained (``__cause__``). Catch the
class that matches what you can do about it, following the service's codes:

- ``InvalidArgument``: the request or spec is wrong; ``.field`` names the
  offending field when the message starts with one, ``.line`` the spec's
  line when given (``"spec.budget.max_trials (line 4): must be > 0"``
  gives ``field == "spec.budget.max_trials"``, ``line == 4``).
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


# A field path at the start of a message, with the spec's YAML line when
# the server knows it (common/spec/field_errors.cc): "spec.budget.max_trials
# (line 4): must be > 0", "spec.search_space.decisions[2] (kernel).type:
# ...", "worker_id: must not be empty".
_FIELD = re.compile(
    r"^(?P<field>[A-Za-z_][A-Za-z0-9_]*"
    r"(?:\[[0-9]+\](?: \((?!line [0-9]+\))[^()]*\))?"  # [2] (annotation)
    r"|\.[A-Za-z_][A-Za-z0-9_]*)*)"
    r"(?: \(line (?P<line>[0-9]+)\))?: ")


class InvalidArgument(NasError):
    """``field``: the field path the message starts with, or None; ``line``:
    the spec's YAML line the server gave with it, or None."""

    code = grpc.StatusCode.INVALID_ARGUMENT

    def __init__(self, details: str, *, code: Optional[grpc.StatusCode] = None,
                 method: Optional[str] = None) -> None:
        super().__init__(details, code=code, method=method)
        match = _FIELD.match(details)
        self.field: Optional[str] = match.group("field") if match else None
        self.line: Optional[int] = (int(match.group("line"))
                                    if match and match.group("line") else None)


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
