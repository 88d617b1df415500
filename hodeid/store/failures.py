"""Which driver errors mean "the database is not there right now" and which mean "hodeid sent
something wrong": the first is worth retrying, the second is a bug that a retry only repeats."""

from __future__ import annotations

import asyncpg
from asyncpg.exceptions import InternalClientError, OutdatedSchemaCacheError

from hodeid.errors import DatabaseBug, DatabaseUnavailable, StoreError

DRIVER_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, InternalClientError, OSError)
"""Everything the driver raises (OSError includes TimeoutError and refused connections)."""

TRANSIENT_CLASSES = frozenset({"08", "53", "57"})
"""SQLSTATE classes of a server that cannot serve now: connection exception, insufficient
resources (too many connections, disk full, out of memory), operator intervention (admin or
crash shutdown, starting up, statement timeout, idle session timeout)."""

TRANSIENT_STATES = frozenset(
    {
        "40001",  # serialization_failure: PostgreSQL's advice is to run the transaction again
        "40P01",  # deadlock_detected: one side was rolled back; running it again succeeds
        "25006",  # read_only_sql_transaction: connected to a standby, e.g. during a failover
        "58000",  # system_error
        "58030",  # io_error
    }
)

_CLOSED = ("connection is closed", "pool is closing", "pool is closed")
"""asyncpg's InterfaceError messages for a connection or pool that went away under a call;
the driver raises no more specific type for them."""


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` from the driver says the database is unreachable or busy right now."""
    if isinstance(exc, OSError):
        return True
    if isinstance(exc, asyncpg.PostgresError):
        state = exc.sqlstate or ""
        # A cached statement outlived a schema change (another daemon migrated): asyncpg
        # drops its cache, so the next call succeeds.
        stale = isinstance(exc, asyncpg.InvalidCachedStatementError)
        return stale or state[:2] in TRANSIENT_CLASSES or state in TRANSIENT_STATES
    if isinstance(exc, OutdatedSchemaCacheError):
        return True
    if isinstance(exc, asyncpg.InterfaceError):
        return str(exc) in _CLOSED
    return False


def store_error(exc: BaseException) -> StoreError:
    """The StoreError for a driver error: DatabaseUnavailable to retry, or DatabaseBug. The
    error's DETAIL is dropped from ``exc`` too, so neither the client nor a logged traceback
    shows it: PostgreSQL quotes the failing row there, and a job's row holds its env, which
    may carry secrets (DESIGN rule 9)."""
    if isinstance(exc, asyncpg.PostgresError | asyncpg.InterfaceError):
        exc.detail = None
    if is_transient(exc):
        return DatabaseUnavailable(f"the database is unavailable ({_describe(exc)}); try again")
    return DatabaseBug(
        f"a bug in hodeid: the database refused its request ({_describe(exc)}); "
        "retrying will not help — hodeid's log has the traceback, please report it"
    )


def _describe(exc: BaseException) -> str:
    lines = [" ".join(line.split()) for line in str(exc).splitlines()]
    said = "; ".join(line for line in lines if line)
    said = said or ("timed out" if isinstance(exc, TimeoutError) else "no message")
    if isinstance(exc, asyncpg.PostgresError) and exc.sqlstate:
        return f"{type(exc).__name__} {exc.sqlstate}: {said}"
    if isinstance(exc, OSError) and exc.strerror:
        said = exc.strerror
    return f"{type(exc).__name__}: {said}"
