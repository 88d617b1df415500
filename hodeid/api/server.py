"""The gRPC server: one service object per contract service, all behind the token check."""

from __future__ import annotations

import ssl
from typing import Any

from grpclib._typing import IServable
from grpclib.const import Status
from grpclib.exceptions import GRPCError
from grpclib.server import Server

from hodei_api.beat_codec import BeatCodec
from hodeid.api.auth import guard
from hodeid.api.corked_server import CorkedServer
from hodeid.api.daemons import DaemonService
from hodeid.api.handshakes import TlsServer
from hodeid.api.health import health_service
from hodeid.api.jobs import JobService
from hodeid.api.logs import LogService
from hodeid.api.providers import ProviderService
from hodeid.api.reflection import with_reflection
from hodeid.api.scheduler import SchedulerService
from hodeid.api.schedules import ScheduleService
from hodeid.api.workers import WorkerService
from hodeid.control.daemon import Daemon


def _contract(daemon: Daemon) -> list[IServable]:
    return [
        JobService(daemon),
        LogService(daemon),
        SchedulerService(daemon),
        WorkerService(daemon),
        ProviderService(daemon),
        DaemonService(daemon),
        ScheduleService(daemon),
    ]


class LimitedCodec(BeatCodec):
    """Protobuf (heartbeats written and read directly), refusing messages over ``max_bytes``
    before decoding them, and bytes that are not a message of the expected type with
    INVALID_ARGUMENT (not UNKNOWN)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes

    def decode(self, data: bytes, message_type: Any) -> Any:
        if len(data) > self.max_bytes:
            raise GRPCError(
                Status.RESOURCE_EXHAUSTED,
                f"the message is {len(data)} bytes; limits.max_message_bytes is {self.max_bytes}",
            )
        try:
            return super().decode(data, message_type)
        # The generated and the protobuf parsers raise several kinds of errors on bad input.
        except Exception as exc:
            raise GRPCError(
                Status.INVALID_ARGUMENT,
                f"the request is not a valid {message_type.__name__} message ({exc}); "
                "is the client built from the same protos/?",
            ) from exc


def build_server(
    daemon: Daemon, max_message_bytes: int, worker_cert: bool = False, tls: ssl.SSLContext | None = None
) -> Server:
    """The contract's services, grpc.health.v1 and server reflection listing and describing them,
    every one behind the token check (which lets health and reflection through); messages
    over ``max_message_bytes`` are refused; with ``tls`` served over TLS (start it without
    ``ssl``), and with ``worker_cert`` worker streams need a verified TLS client certificate."""
    contract = _contract(daemon)
    every = with_reflection([*contract, health_service(daemon, contract)])
    handlers = guard(every, daemon.api_tokens, daemon.revocations, worker_cert)
    codec = LimitedCodec(max_message_bytes)
    return CorkedServer(handlers, codec=codec) if tls is None else TlsServer(handlers, codec=codec, tls=tls)
