"""The daemon's errors: one root, a class per kind of failure, the docstring as default message.

Only ``hodeid.api`` turns these into gRPC status codes.
"""

from __future__ import annotations


class HodeiError(Exception):
    """Something went wrong inside hodeid."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or "").strip())
        self.message = message or (self.__doc__ or "").strip()


class InvalidRequest(HodeiError):
    """The request is not valid."""


class NotFound(HodeiError):
    """No such object."""


class AlreadyExists(HodeiError):
    """An object of that name exists already."""


class Conflict(HodeiError):
    """The object is not in a state that allows this."""


class Unauthenticated(HodeiError):
    """The caller did not prove who it is (a missing, wrong, used or expired token)."""


class PermissionDenied(HodeiError):
    """The caller's token does not allow this."""


class LimitExceeded(HodeiError):
    """The request goes over one of the daemon's limits."""


class Unavailable(HodeiError):
    """A part the daemon needs is not reachable right now; try again."""


class ProviderError(HodeiError):
    """A provider could not create or destroy a worker."""


class StoreError(HodeiError):
    """The database failed."""


class DatabaseUnavailable(StoreError, Unavailable):
    """The database cannot be reached right now (connection refused or lost, too many
    connections, shut down, timed out); the same request may succeed later."""


class DatabaseBug(StoreError):
    """The database refused a statement hodeid sent (a constraint it did not expect, an SQL
    error): a bug in hodeid, which the same request would hit again, so nobody retries it."""


class ConfigError(HodeiError):
    """The configuration is not valid."""
