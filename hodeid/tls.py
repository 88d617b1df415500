"""The TLS context the gRPC API is served with, from ``--tls-cert/--tls-key`` and
``--tls-client-ca``."""

from __future__ import annotations

import ssl

from hodeid.config import Settings
from hodeid.errors import ConfigError


def server_context(settings: Settings) -> ssl.SSLContext | None:
    """None for plaintext; else a context serving ``tls_cert``, which with ``tls_client_ca``
    verifies the client certificates presented (workers are then required to present one)."""
    if settings.tls_cert is None and settings.tls_key is None:
        if settings.tls_client_ca is not None:
            raise ConfigError("--tls-client-ca needs --tls-cert and --tls-key: client certificates need TLS")
        return None
    if settings.tls_cert is None or settings.tls_key is None:
        raise ConfigError("TLS needs both --tls-cert and --tls-key (PEM files)")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
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
