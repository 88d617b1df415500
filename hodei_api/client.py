"""How a client (CLI, console, worker, script) finds and authenticates to a daemon."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

from grpclib.client import Channel

from hodei_api import v1

DEFAULT_ADDR = "127.0.0.1:50051"


class AddressError(ValueError):
    """A daemon address that is not HOST:PORT."""


def parse_addr(addr: str) -> tuple[str, int]:
    """Split ``HOST:PORT`` (``[::1]:PORT`` for IPv6) into its parts, or say what is wrong."""
    host, sep, port = addr.strip().rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise AddressError(f"daemon address {addr!r} is not HOST:PORT (for example {DEFAULT_ADDR})")
    return host.strip("[]"), int(port)


def resolve_addr(flag: str | None, environ: Mapping[str, str] = os.environ) -> str:
    """The daemon address: the flag, else ``HODEI_ADDR``, else the default."""
    return flag or environ.get("HODEI_ADDR") or DEFAULT_ADDR


def resolve_token(environ: Mapping[str, str] = os.environ) -> str | None:
    """The bearer token: ``HODEI_TOKEN``, else the contents of ``HODEI_TOKEN_FILE``."""
    if token := environ.get("HODEI_TOKEN"):
        return token.strip()
    if path := environ.get("HODEI_TOKEN_FILE"):
        return Path(path).read_text().strip()
    return None


class Client:
    """A connection to one daemon with a stub per service; use as ``async with``."""

    def __init__(self, addr: str, token: str | None = None) -> None:
        self.addr = addr
        host, port = parse_addr(addr)
        self.channel = Channel(host, port)
        metadata = {"authorization": f"Bearer {token}"} if token else None
        self.jobs = v1.JobServiceStub(self.channel, metadata=metadata)
        self.logs = v1.LogServiceStub(self.channel, metadata=metadata)
        self.scheduler = v1.SchedulerServiceStub(self.channel, metadata=metadata)
        self.workers = v1.WorkerServiceStub(self.channel, metadata=metadata)
        self.providers = v1.ProviderServiceStub(self.channel, metadata=metadata)

    def close(self) -> None:
        self.channel.close()

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
