"""How failed calls are put in words: unreachable (worth retrying) or refused (not)."""

from __future__ import annotations

import socket

import pytest
from grpclib.const import Status
from grpclib.exceptions import GRPCError, ProtocolError, StreamTerminatedError

from hodei_api.client import TlsMismatch, Token
from hodei_tui.backend import CallFailure, describe_origin, translate, transport_detail
from hodei_tui.errors import DaemonUnreachable, HodeiError, RequestRefused

ADDR = "10.0.0.1:50051"
HINT = "; start it with 'hodeid' or point --addr/HODEI_ADDR at a running daemon"


@pytest.mark.parametrize(
    ("exc", "detail"),
    [
        (ConnectionRefusedError(111, "Connection refused"), "connection refused"),
        (TimeoutError(), "timed out"),
        (StreamTerminatedError("Connection lost"), "connection lost"),
        (socket.gaierror(-2, "Name or service not known"), "name or service not known"),
        (ConnectionResetError(104, "Connection reset by peer"), "connection reset by peer"),
        (OSError("odd"), "odd"),
        (OSError(), "OSError"),
    ],
)
def test_transport_detail(exc: BaseException, detail: str) -> None:
    assert transport_detail(exc) == detail


@pytest.mark.parametrize(
    ("exc", "kind", "message"),
    [
        (
            ConnectionRefusedError(111, "Connection refused"),
            DaemonUnreachable,
            f"cannot reach hodeid at {ADDR} (connection refused){HINT}",
        ),
        (
            StreamTerminatedError("Connection lost"),
            DaemonUnreachable,
            f"cannot reach hodeid at {ADDR} (connection lost){HINT}",
        ),
        (
            GRPCError(Status.UNAVAILABLE, "shutting down"),
            DaemonUnreachable,
            f"cannot reach hodeid at {ADDR} (shutting down){HINT}",
        ),
        (
            GRPCError(Status.UNAVAILABLE),
            DaemonUnreachable,
            f"cannot reach hodeid at {ADDR} (unavailable){HINT}",
        ),
        (
            ProtocolError("Connection lost"),
            DaemonUnreachable,
            f"cannot reach hodeid at {ADDR} (Connection lost){HINT}",
        ),
        (
            TlsMismatch("hodeid at 10.0.0.1:50051 closed the connection ...: it serves TLS; pass --tls-ca"),
            HodeiError,
            "hodeid at 10.0.0.1:50051 closed the connection ...: it serves TLS; pass --tls-ca",
        ),
        (GRPCError(Status.NOT_FOUND, "job x not found"), RequestRefused, "job x not found"),
        (
            GRPCError(Status.INVALID_ARGUMENT, "cpu: needs 64, no provider offers more than 8"),
            RequestRefused,
            "cpu: needs 64, no provider offers more than 8",
        ),
        (GRPCError(Status.INTERNAL), RequestRefused, "hodeid refused the request (INTERNAL)"),
        (
            GRPCError(Status.UNAUTHENTICATED, "bad token"),
            RequestRefused,
            "bad token; set HODEI_TOKEN, or HODEI_TOKEN_FILE to a file holding it, to a token this "
            "hodeid accepts: the admin.token in its --data-dir, or one from 'hodeid token create'",
        ),
    ],
)
def test_translate(exc: CallFailure, kind: type[HodeiError], message: str) -> None:
    error = translate(ADDR, exc)
    assert type(error) is kind
    assert str(error) == message


@pytest.mark.parametrize(
    ("token", "origin"),
    [
        (Token("t", "HODEI_TOKEN"), "hodei read its token from HODEI_TOKEN"),
        (Token("t", "HODEI_TOKEN_FILE (/etc/t)"), "hodei read its token from HODEI_TOKEN_FILE (/etc/t)"),
        (Token("t", "/var/lib/hodei/admin.token"), "hodei read its token from /var/lib/hodei/admin.token"),
        (
            Token(None, "no HODEI_TOKEN, no HODEI_TOKEN_FILE, and /d/admin.token not found"),
            "hodei sent no token (no HODEI_TOKEN, no HODEI_TOKEN_FILE, and /d/admin.token not found)",
        ),
    ],
)
@pytest.mark.parametrize("status", [Status.UNAUTHENTICATED, Status.PERMISSION_DENIED])
def test_a_refused_token_is_named_by_where_it_came_from(token: Token, origin: str, status: Status) -> None:
    error = translate(ADDR, GRPCError(status, "no"), describe_origin(token))
    assert str(error).startswith(f"no; {origin}; set HODEI_TOKEN, or HODEI_TOKEN_FILE")
