"""TLS for the gRPC server, with failed handshakes counted and logged.

Given ``ssl=``, asyncio drops a connection whose handshake fails without a word (an SSLError
is an OSError, which it logs only in debug mode), so a plaintext client or one that does not
trust the certificate left no trace. Here the server accepts plain TCP and each connection
does its handshake through ``loop.start_tls``; a failure is counted in
``hodei_tls_handshake_failures_total`` and logged with the peer, once per peer host per
``LOG_EVERY_SECONDS``."""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from typing import Any

from grpclib.protocol import H2Protocol

from hodeid.api.corked_server import CorkedServer
from hodeid.metrics import TLS_HANDSHAKE_FAILURES
from hodeid.tls import HANDSHAKE, Handshake

log = logging.getLogger(__name__)

# A client that has not finished its handshake by then is dropped (asyncio's default is 60 s).
HANDSHAKE_SECONDS = 10.0
LOG_EVERY_SECONDS = 60.0

# OpenSSL's reasons when the client sent something that is not TLS at all.
_PLAINTEXT = {"WRONG_VERSION_NUMBER", "HTTP_REQUEST", "UNKNOWN_PROTOCOL", "RECORD_LAYER_FAILURE"}


def _why(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None) or ""
    if reason in _PLAINTEXT:
        return "the client spoke plaintext; start it with --tls-ca (HODEI_TLS_CA) to use TLS"
    if "ALERT" in reason or isinstance(exc, ConnectionResetError):
        how = reason or "it closed the connection after its hello"
        return (
            f"the client refused this daemon's certificate ({how}); give it --tls-ca "
            "(HODEI_TLS_CA) with the CA that signed --tls-cert, for the host name it connects to"
        )
    return str(exc) or type(exc).__name__


class HandshakeFailures:
    """Counts every failed handshake; logs one per peer host per ``LOG_EVERY_SECONDS``."""

    def __init__(self) -> None:
        self._logged: dict[str, float] = {}

    def note(self, peer: Any, exc: BaseException) -> None:
        TLS_HANDSHAKE_FAILURES.inc()
        host, port = (peer[0], peer[1]) if isinstance(peer, tuple) else ("an unknown peer", 0)
        now = time.monotonic()
        if now - self._logged.get(host, -LOG_EVERY_SECONDS) < LOG_EVERY_SECONDS:
            return
        # Forget hosts not heard from for a while, so that many peers cannot grow this.
        self._logged = {h: t for h, t in self._logged.items() if now - t < LOG_EVERY_SECONDS}
        self._logged[host] = now
        log.warning(
            "TLS handshake with %s:%s failed: %s (more failures from %s within %g s are only "
            "counted in hodei_tls_handshake_failures_total)",
            host, port, _why(exc), host, LOG_EVERY_SECONDS,
        )  # fmt: skip


class _Early(asyncio.Protocol):
    """Holds what arrives between the end of the handshake and the gRPC protocol taking over."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.eof = False
        self.lost: tuple[BaseException | None] | None = None

    def data_received(self, data: bytes) -> None:
        self.data += data

    def eof_received(self) -> bool:
        self.eof = True
        return True  # the gRPC protocol decides, once it has it

    def connection_lost(self, exc: BaseException | None) -> None:
        self.lost = (exc,)

    def hand_over(self, app: H2Protocol, transport: asyncio.Transport) -> None:
        if self.data:
            app.data_received(bytes(self.data))
        if self.eof and not app.eof_received():
            transport.close()
        if self.lost is not None:
            app.connection_lost(self.lost[0])


class _Handshaking(asyncio.Protocol):
    """One accepted connection: the TLS handshake, then grpclib's protocol on top of it."""

    def __init__(self, app: H2Protocol, context: ssl.SSLContext, failures: HandshakeFailures) -> None:
        self._app = app
        self._context = context
        self._failures = failures
        self._task: asyncio.Task[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        transport.pause_reading()  # start_tls reads from here on
        self._task = asyncio.get_running_loop().create_task(self._handshake(transport))

    def connection_lost(self, exc: BaseException | None) -> None:
        # Gone before start_tls took the connection over: there is nothing to shake hands with.
        if self._task is not None:
            self._task.cancel()
        self._app.handler.close()

    async def _handshake(self, transport: asyncio.Transport) -> None:
        early = _Early()
        handshake = Handshake()
        HANDSHAKE.set(handshake)  # this task's own context: the context's wrap_bio reads it
        try:
            tls = await asyncio.get_running_loop().start_tls(
                transport, early, self._context, server_side=True, ssl_handshake_timeout=HANDSHAKE_SECONDS
            )
        except (ssl.SSLError, ConnectionAbortedError) as exc:  # aborted: the handshake timed out
            self._failures.note(transport.get_extra_info("peername"), exc)
            tls = None
        except OSError as exc:
            # Closed after its hello: a client that does not trust the certificate (asyncio
            # clients send no alert). Closed before: a port probe, which is no failure.
            if handshake.hello:
                self._failures.note(transport.get_extra_info("peername"), exc)
            tls = None
        if tls is None:
            transport.close()
            self._app.handler.close()  # grpclib forgets a closed handler
            return
        tls.set_protocol(self._app)
        self._app.connection_made(tls)
        early.hand_over(self._app, tls)


class TlsServer(CorkedServer):
    """grpclib's Server (writes corked) over TLS, each connection's handshake done as the module
    says; start it with ``ssl=None``."""

    def __init__(self, *args: Any, tls: ssl.SSLContext, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._tls = tls
        self._failures = HandshakeFailures()

    # grpclib passes this factory only to loop.create_server, which takes any protocol.
    def _protocol_factory(self) -> asyncio.Protocol:  # type: ignore[override]
        return _Handshaking(super()._protocol_factory(), self._tls, self._failures)
