"""Driver errors at the store boundary: connection-level failures are UNAVAILABLE (clients
retry), anything else the database refused is a bug in hodeid, INTERNAL (nobody retries)."""

from __future__ import annotations

import asyncpg
import pytest
from asyncpg.exceptions import InternalClientError, OutdatedSchemaCacheError
from asyncpg.exceptions._base import DataError as ArgumentError
from grpclib.const import Status

from hodeid.api.errors import status_of
from hodeid.errors import DatabaseBug, DatabaseUnavailable
from hodeid.store.failures import store_error

UNAVAILABLE: list[tuple[str, BaseException]] = [
    ("connection refused", ConnectionRefusedError(111, "Connection refused")),
    ("connection reset", ConnectionResetError(104, "Connection reset by peer")),
    ("timed out", TimeoutError()),
    ("host not found", OSError(-2, "Name or service not known")),
    ("connection lost mid-call", asyncpg.ConnectionDoesNotExistError("connection was closed")),
    ("connection failure", asyncpg.exceptions.ConnectionFailureError("lost")),
    ("cannot connect", asyncpg.exceptions.ClientCannotConnectError("no route")),
    ("too many connections", asyncpg.TooManyConnectionsError("sorry, too many clients already")),
    ("out of memory", asyncpg.exceptions.OutOfMemoryError("out of memory")),
    ("disk full", asyncpg.exceptions.DiskFullError("could not extend file")),
    ("admin shutdown", asyncpg.exceptions.AdminShutdownError("terminating connection")),
    ("crash shutdown", asyncpg.exceptions.CrashShutdownError("terminating connection")),
    ("starting up", asyncpg.CannotConnectNowError("the database system is starting up")),
    ("statement timeout", asyncpg.QueryCanceledError("canceling statement due to statement timeout")),
    ("idle session timeout", asyncpg.exceptions.IdleSessionTimeoutError("idle-session timeout")),
    ("deadlock", asyncpg.DeadlockDetectedError("deadlock detected")),
    ("serialization", asyncpg.SerializationError("could not serialize access")),
    ("standby", asyncpg.ReadOnlySQLTransactionError("cannot execute INSERT in a read-only transaction")),
    ("io error", asyncpg.exceptions.PostgresIOError("could not read block")),
    ("connection closed", asyncpg.InterfaceError("connection is closed")),
    ("pool closing", asyncpg.InterfaceError("pool is closing")),
    ("pool closed", asyncpg.InterfaceError("pool is closed")),
    ("stale statement", asyncpg.InvalidCachedStatementError("cached statement plan is invalid")),
    ("stale type cache", OutdatedSchemaCacheError("out of date", schema="s", data_type="t", position=1)),
]

BUGS: list[tuple[str, BaseException, str]] = [
    ("unique violation", asyncpg.UniqueViolationError("duplicate key"), "UniqueViolationError 23505"),
    ("foreign key", asyncpg.ForeignKeyViolationError("no such key"), "ForeignKeyViolationError 23503"),
    ("not null", asyncpg.NotNullViolationError("null value"), "NotNullViolationError 23502"),
    ("check", asyncpg.CheckViolationError("violates check"), "CheckViolationError 23514"),
    ("undefined column", asyncpg.UndefinedColumnError('column "x"'), "UndefinedColumnError 42703"),
    ("undefined table", asyncpg.UndefinedTableError('relation "x"'), "UndefinedTableError 42P01"),
    ("syntax error", asyncpg.PostgresSyntaxError('at "SELEC"'), "PostgresSyntaxError 42601"),
    ("bad text", asyncpg.CharacterNotInRepertoireError("bad byte"), "CharacterNotInRepertoireError 22021"),
    ("division by zero", asyncpg.DivisionByZeroError("division by zero"), "DivisionByZeroError 22012"),
    ("server internal", asyncpg.InternalServerError("unexpected chunk"), "InternalServerError XX000"),
    ("wrong arguments", asyncpg.InterfaceError("expects 2 arguments, 1 was passed"), "InterfaceError"),
    ("busy connection", asyncpg.InterfaceError("another operation is in progress"), "InterfaceError"),
    ("data exception", asyncpg.DataError("invalid input syntax"), "DataError 22000"),
    # The driver's own DataError (an InterfaceError): a Python value of the wrong type.
    ("bad parameter", ArgumentError("invalid input for query argument $1"), "DataError"),
    ("client internal", InternalClientError("unexpected message"), "InternalClientError"),
]


@pytest.mark.parametrize(("case", "exc"), UNAVAILABLE, ids=[c for c, _ in UNAVAILABLE])
def test_connection_level_failures_are_unavailable(case: str, exc: BaseException) -> None:
    error = store_error(exc)
    assert isinstance(error, DatabaseUnavailable)
    assert status_of(error) is Status.UNAVAILABLE
    assert error.message.startswith("the database is unavailable (")
    assert error.message.endswith("); try again")


@pytest.mark.parametrize(("case", "exc", "named"), BUGS, ids=[c for c, _, _ in BUGS])
def test_what_the_database_refused_is_an_internal_bug(case: str, exc: BaseException, named: str) -> None:
    error = store_error(exc)
    assert isinstance(error, DatabaseBug)
    assert status_of(error) is Status.INTERNAL
    assert error.message.startswith("a bug in hodeid: the database refused its request (")
    assert f"({named}: {exc})" in error.message
    assert "retrying will not help" in error.message


def test_a_timeout_says_it_timed_out() -> None:
    assert "(TimeoutError: timed out)" in store_error(TimeoutError()).message


def test_an_os_error_gives_its_reason_not_its_errno() -> None:
    message = store_error(ConnectionRefusedError(111, "Connection refused")).message
    assert "(ConnectionRefusedError: Connection refused)" in message


def test_the_failing_row_is_neither_told_nor_logged() -> None:
    # PostgreSQL's DETAIL quotes the row, and a job's row holds its env.
    exc = asyncpg.CheckViolationError('new row for relation "jobs" violates check constraint "c"')
    exc.detail = 'Failing row contains (…, {"TOKEN": "s3cret"}, …).'
    exc.hint = "Fix the   constraint."
    message = store_error(exc).message
    assert "s3cret" not in message and "s3cret" not in str(exc)
    assert '"c"; HINT: Fix the constraint.)' in message
