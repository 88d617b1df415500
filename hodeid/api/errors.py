"""The one place daemon errors become gRPC status codes with a message a person can act on."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from grpclib.const import Status
from grpclib.exceptions import GRPCError

from hodeid.errors import (
    AlreadyExists,
    Conflict,
    HodeiError,
    InvalidRequest,
    LimitExceeded,
    NotFound,
    PermissionDenied,
    Unauthenticated,
    Unavailable,
)

log = logging.getLogger(__name__)

_STATUS: list[tuple[type[HodeiError], Status]] = [
    (InvalidRequest, Status.INVALID_ARGUMENT),
    (NotFound, Status.NOT_FOUND),
    (AlreadyExists, Status.ALREADY_EXISTS),
    (Conflict, Status.FAILED_PRECONDITION),
    (Unavailable, Status.UNAVAILABLE),
    (Unauthenticated, Status.UNAUTHENTICATED),
    (PermissionDenied, Status.PERMISSION_DENIED),
    (LimitExceeded, Status.RESOURCE_EXHAUSTED),
]


def status_of(error: HodeiError) -> Status:
    for kind, status in _STATUS:
        if isinstance(error, kind):
            return status
    return Status.INTERNAL


@contextmanager
def grpc_errors() -> Iterator[None]:
    """Raise HodeiErrors from the block as GRPCError with their message."""
    try:
        yield
    except HodeiError as exc:
        status = status_of(exc)
        if status in (Status.INTERNAL, Status.UNAVAILABLE):
            log.warning("request failed: %s", exc.message)
        raise GRPCError(status, exc.message) from exc
