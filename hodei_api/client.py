"""How a client (CLI, console, worker, script) finds and authenticates to a daemon."""

from __future__ import annotations

import asyncio
import os
import ssl
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple

from grpclib.client import Channel, Handler
from grpclib.protocol import H2Protocol

from hodei_api import v1
from hodei_api.beat_codec import BeatCodec
from hodei_api.corking import CorkedH2Protocol
from hodei_api.paths import ADMIN_TOKEN_FILE, JOIN_TOKEN_FILE, default_data_dir

DEFAULT_ADDR = "127.0.0.1:50051"

# How long a plaintext connection waits for the daemon's first HTTP/2 frame (hodeid sends its
# settings as soon as it accepts a connection) before any request, and its token, is sent.
ANSWER_SECONDS = 5.0
# An HTTP/2 server's first frame is SETTINGS (type 4) on stream 0, after a 9-byte header.
FRAME_HEADER = 9
SETTINGS = 4


class AddressError(ValueError):
    """A daemon address that is not HOST:PORT."""


def parse_addr(addr: str) -> tuple[str, int]:
    """Split ``HOST:PORT`` (``[::1]:PORT`` for IPv6) into its parts, or say what is wrong."""
    host, sep, port = addr.strip().rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise AddressError(f"daemon address {addr!r} is not HOST:PORT (for example {DEFAULT_ADDR})")
    return host.strip("[]"), int(port)


def parse_addrs(addrs: str) -> list[tuple[str, int]]:
    """Split a comma-separated list of daemon addresses (``A:1,B:2``; several daemons on one
    database), each ``HOST:PORT``, in order and without repeats, or say which one is wrong."""
    found: list[tuple[str, int]] = []
    for part in addrs.split(","):
        if not part.strip():
            raise AddressError(f"daemon address list {addrs!r} has an empty entry; write HOST:PORT,HOST:PORT")
        if (addr := parse_addr(part)) not in found:
            found.append(addr)
    return found


def resolve_addr(flag: str | None, environ: Mapping[str, str] = os.environ) -> str:
    """The daemon address: the flag, else ``HODEI_ADDR``, else the default."""
    return flag or environ.get("HODEI_ADDR") or DEFAULT_ADDR


class Token(NamedTuple):
    """A token and where it was read from, so that a refusal can name the place to fix."""

    value: str | None
    source: str
    """``HODEI_TOKEN``, ``HODEI_TOKEN_FILE (PATH)``, the default file's path, or, with no token,
    every place looked at."""


def _token(environ: Mapping[str, str], variable: str, default_file: Path) -> Token:
    if token := environ.get(variable, "").strip():
        return Token(token, variable)
    if path := environ.get(f"{variable}_FILE"):
        return Token(Path(path).read_text().strip() or None, f"{variable}_FILE ({path})")
    try:
        return Token(default_file.read_text().strip() or None, str(default_file))
    except (FileNotFoundError, PermissionError, NotADirectoryError) as exc:
        detail = "not readable" if isinstance(exc, PermissionError) else "not found"
        return Token(None, f"no {variable}, no {variable}_FILE, and {default_file} {detail}")


def find_token(environ: Mapping[str, str] = os.environ, data_dir: Path | None = None) -> Token:
    """The bearer token and its source: ``HODEI_TOKEN``, else the contents of
    ``HODEI_TOKEN_FILE``, else the ``admin.token`` hodeid wrote in its default data directory
    (OSError if ``HODEI_TOKEN_FILE`` cannot be read)."""
    return _token(environ, "HODEI_TOKEN", (data_dir or default_data_dir()) / ADMIN_TOKEN_FILE)


def find_join_token(environ: Mapping[str, str] = os.environ, data_dir: Path | None = None) -> Token:
    """A worker's join token and its source: ``HODEI_JOIN_TOKEN``, else the contents of
    ``HODEI_JOIN_TOKEN_FILE``, else the ``join.token`` hodeid wrote in its default data
    directory (OSError if ``HODEI_JOIN_TOKEN_FILE`` cannot be read)."""
    return _token(environ, "HODEI_JOIN_TOKEN", (data_dir or default_data_dir()) / JOIN_TOKEN_FILE)


def resolve_token(environ: Mapping[str, str] = os.environ, data_dir: Path | None = None) -> str | None:
    """The bearer token alone (see ``find_token``)."""
    return find_token(environ, data_dir).value


def resolve_join_token(environ: Mapping[str, str] = os.environ, data_dir: Path | None = None) -> str | None:
    """A worker's join token alone (see ``find_join_token``)."""
    return find_join_token(environ, data_dir).value


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


class WrongPeer(ConnectionError):
    """What answers at the address cannot be talked to as configured; waiting will not mend
    it, and the message says what to change."""


class TlsMismatch(WrongPeer):
    """The client and the daemon do not agree on TLS (plaintext against TLS, or a certificate
    the client does not trust); the message says which, and what to pass."""


class NotHodeid(WrongPeer):
    """The address answers, but not as hodeid does (no HTTP/2), or not at all."""


class _Answering(CorkedH2Protocol):
    """grpclib's HTTP/2 protocol (writes corked), noting whether the server answered before the connection
    ended, and whether its first bytes were an HTTP/2 SETTINGS frame."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.answered = False
        self.speaks_http2 = False
        self.head = b""
        self.settled = asyncio.Event()
        self.lost: BaseException | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        super().connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if not self.answered:
            # Judged on the first frame's header whole (it may come in pieces).
            self.head += data
            if len(self.head) < FRAME_HEADER:
                return
            data, self.head = self.head, self.head[:FRAME_HEADER]
            self.answered = True
            self.speaks_http2 = data[3] == SETTINGS and data[5:FRAME_HEADER] == bytes(4)
            self.settled.set()
            if not self.speaks_http2:
                self.transport.close()
                return
        super().data_received(data)

    def connection_lost(self, exc: BaseException | None) -> None:
        self.lost = exc
        self.settled.set()
        super().connection_lost(exc)


class _Channel(Channel):
    """A grpclib channel that sends requests, and so the bearer token in their headers, only
    once the daemon has answered in the protocol expected, and says what is wrong when TLS is
    expected on one side only.

    grpclib writes a request's headers right after the connection's preface, without waiting
    for the server: to a daemon serving TLS, a plaintext client would send its token in clear
    before the daemon dropped the connection. Over plaintext this channel first waits for the
    daemon's HTTP/2 settings, which hodeid sends as it accepts a connection and a TLS server
    never does."""

    def __init__(self, host: str, port: int, tls: ssl.SSLContext | None) -> None:
        super().__init__(host, port, ssl=tls, codec=BeatCodec())
        self._addr = f"{host}:{port}"
        self._tls = tls

    def _protocol_factory(self) -> H2Protocol:
        return _Answering(Handler(), self._config, self._h2_config)

    async def _create_connection(self) -> H2Protocol:
        try:
            protocol = await super()._create_connection()
        except ssl.SSLCertVerificationError as exc:
            raise TlsMismatch(
                f"hodeid at {self._addr} presented a certificate this client does not trust "
                f"({exc.verify_message}); pass --tls-ca/HODEI_TLS_CA the CA that signed it (for a "
                "self-signed certificate, the daemon's --tls-cert file)"
            ) from exc
        except ssl.SSLError as exc:
            raise TlsMismatch(
                f"the TLS handshake with hodeid at {self._addr} failed ({exc.reason or exc}); if it "
                "serves plaintext (started without --tls-cert), drop --tls-ca/HODEI_TLS_CA"
            ) from exc
        if self._tls is None:
            await self._answered(protocol)
        return protocol

    async def _answered(self, protocol: H2Protocol) -> None:
        assert isinstance(protocol, _Answering)
        try:
            await asyncio.wait_for(protocol.settled.wait(), ANSWER_SECONDS)
        except TimeoutError:
            protocol.transport.close()
            raise NotHodeid(
                f"{self._addr} accepted the connection but said nothing in {ANSWER_SECONDS:g} s, as "
                "hodeid would at once: is --addr/HODEI_ADDR hodeid's gRPC port (50051 by "
                "default)? (nothing secret was sent)"
            ) from None
        if protocol.speaks_http2:
            return
        if protocol.answered:
            raise NotHodeid(
                f"{self._addr} does not answer as hodeid (no HTTP/2; it began {protocol.head!r}): "
                "is --addr/HODEI_ADDR hodeid's gRPC port (50051 by default)? (nothing secret was sent)"
            )
        if protocol.lost is not None:
            raise protocol.lost
        # A TLS server reads the preface as a bad handshake and closes without a word.
        raise TlsMismatch(
            f"hodeid at {self._addr} closed the connection without answering in plaintext HTTP/2: it "
            "serves TLS; pass --tls-ca/HODEI_TLS_CA the CA that signed its certificate (nothing "
            "secret was sent)"
        )


class Client:
    """A connection to one daemon with a stub per service; use as ``async with``."""

    def __init__(
        self,
        addr: str,
        token: str | None = None,
        tls: ssl.SSLContext | None = None,
        token_origin: str = "",
    ) -> None:
        self.addr = addr
        self.token_origin = token_origin
        """Where the token came from, in words, for the messages of refused calls."""
        host, port = parse_addr(addr)
        self.channel: Channel = _Channel(host, port, tls)
        metadata = {"authorization": f"Bearer {token}"} if token else None
        self.jobs = v1.JobServiceStub(self.channel, metadata=metadata)
        self.logs = v1.LogServiceStub(self.channel, metadata=metadata)
        self.scheduler = v1.SchedulerServiceStub(self.channel, metadata=metadata)
        self.workers = v1.WorkerServiceStub(self.channel, metadata=metadata)
        self.providers = v1.ProviderServiceStub(self.channel, metadata=metadata)
        self.daemons = v1.DaemonServiceStub(self.channel, metadata=metadata)
        self.schedules = v1.ScheduleServiceStub(self.channel, metadata=metadata)

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
