"""How failed calls are put in words: unreachable (worth retrying) or refused (not)."""

from __future__ import annotations

import socket

import pytest
from grpclib.const import Status
from grpclib.exceptions import GRPCError, ProtocolError, StreamTerminatedError

from hodei_api.client import TlsMismatch
from hodei_tui.backend import CallFailure, translate, transport_detail
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
            "bad token; set HODEI_TOKEN or HODEI_TOKEN_FILE to a token hodeid accepts",
        ),
    ],
)
def test_translate(exc: CallFailure, kind: type[HodeiError], message: str) -> None:
    error = translate(ADDR, exc)
    assert type(error) is kind
    assert str(error) == message
