"""How a client (CLI, console, worker, script) finds and authenticates to a daemon."""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

from grpclib.client import Channel

from hodei_api import v1
from hodei_api.paths import ADMIN_TOKEN_FILE, JOIN_TOKEN_FILE, default_data_dir

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


def _token(environ: Mapping[str, str], variable: str, default_file: Path) -> str | None:
    if token := environ.get(variable, "").strip():
        return token
    if path := environ.get(f"{variable}_FILE"):
        return Path(path).read_text().strip()
    try:
        return default_file.read_text().strip() or None
    except (FileNotFoundError, PermissionError, NotADirectoryError):
        return None


def resolve_token(environ: Mapping[str, str] = os.environ, data_dir: Path | None = None) -> str | None:
    """The bearer token: ``HODEI_TOKEN``, else the contents of ``HODEI_TOKEN_FILE``, else the
    ``admin.token`` hodeid wrote in its default data directory (OSError if
    ``HODEI_TOKEN_FILE`` cannot be read)."""
    return _token(environ, "HODEI_TOKEN", (data_dir or default_data_dir()) / ADMIN_TOKEN_FILE)


def resolve_join_token(environ: Mapping[str, str] = os.environ, data_dir: Path | None = None) -> str | None:
    """A worker's join token: ``HODEI_JOIN_TOKEN``, else the contents of
    ``HODEI_JOIN_TOKEN_FILE``, else the ``join.token`` hodeid wrote in its default data
    directory (OSError if ``HODEI_JOIN_TOKEN_FILE`` cannot be read)."""
    return _token(environ, "HODEI_JOIN_TOKEN", (data_dir or default_data_dir()) / JOIN_TOKEN_FILE)


def tls_context(
    ca: str | Path | None, cert: str | Path | None = None, key: str | Path | None = None
) -> ssl.SSLContext | None:
    """The TLS context to reach a daemon serving TLS: trusting the CA bundle ``ca`` (PEM),
    presenting the client certificate ``cert``/``key`` if given; None for plaintext (no ``ca``).
    OSError or ssl.SSLError if the files cannot be loaded."""
    if ca is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(ca))
    if cert is not None:
        context.load_cert_chain(cert, key)
    context.set_alpn_protocols(["h2"])
    return context


class Client:
    """A connection to one daemon with a stub per service; use as ``async with``."""

    def __init__(self, addr: str, token: str | None = None, tls: ssl.SSLContext | None = None) -> None:
        self.addr = addr
        host, port = parse_addr(addr)
        self.channel = Channel(host, port, ssl=tls)
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
