"""The TLS context the gRPC API is served with, from ``--tls-cert/--tls-key`` and
``--tls-client-ca``."""

from __future__ import annotations

import ssl
import weakref
from contextvars import ContextVar
from dataclasses import dataclass

from hodeid.config import Settings
from hodeid.errors import ConfigError


@dataclass
class Handshake:
    """What is known of one connection's TLS handshake while it runs."""

    hello: bool = False
    """The client's hello arrived: it speaks TLS (so a connection closed later in the handshake
    was a client refusing the certificate, not a port probe)."""


HANDSHAKE: ContextVar[Handshake | None] = ContextVar("hodei_handshake", default=None)
"""Set by the task that starts a connection's TLS (``loop.start_tls``), which creates the
connection's SSLObject in that task."""

_HANDSHAKES: weakref.WeakKeyDictionary[ssl.SSLObject, Handshake] = weakref.WeakKeyDictionary()


def _hello(tls: ssl.SSLObject | ssl.SSLSocket, _server_name: str | None, _context: ssl.SSLContext) -> None:
    # OpenSSL calls this for every client hello, with or without a server name in it.
    if isinstance(tls, ssl.SSLObject) and (handshake := _HANDSHAKES.get(tls)) is not None:
        handshake.hello = True


class ServerContext(ssl.SSLContext):
    """A server SSLContext that notes in the ``HANDSHAKE`` of the task starting a connection's
    TLS whether the client's hello arrived."""

    def wrap_bio(
        self,
        incoming: ssl.MemoryBIO,
        outgoing: ssl.MemoryBIO,
        server_side: bool = False,
        server_hostname: str | bytes | None = None,
        session: ssl.SSLSession | None = None,
    ) -> ssl.SSLObject:
        tls = super().wrap_bio(incoming, outgoing, server_side, server_hostname, session)
        if (handshake := HANDSHAKE.get()) is not None:
            _HANDSHAKES[tls] = handshake
        return tls


def server_context(settings: Settings) -> ssl.SSLContext | None:
    """None for plaintext; else a context serving ``tls_cert``, which with ``tls_client_ca``
    verifies the client certificates presented (workers are then required to present one)."""
    if settings.tls_cert is None and settings.tls_key is None:
        if settings.tls_client_ca is not None:
            raise ConfigError("--tls-client-ca needs --tls-cert and --tls-key: client certificates need TLS")
        return None
    if settings.tls_cert is None or settings.tls_key is None:
        raise ConfigError("TLS needs both --tls-cert and --tls-key (PEM files)")
    # The protocol ssl.create_default_context(Purpose.CLIENT_AUTH) uses, with its defaults.
    context = ServerContext(ssl.PROTOCOL_TLS_SERVER)
    context.sni_callback = _hello
    try:
        context.load_cert_chain(settings.tls_cert, settings.tls_key)
        if settings.tls_client_ca is not None:
            context.load_verify_locations(settings.tls_client_ca)
            # Optional for the connection, required for worker streams (hodeid.api.auth):
            # the CLI and the console may still connect without a certificate.
            context.verify_mode = ssl.CERT_OPTIONAL
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"cannot load the TLS files: {exc}; give PEM files hodeid can read") from exc
    context.set_alpn_protocols(["h2"])
    return context
