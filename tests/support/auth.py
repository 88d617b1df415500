"""Authenticated channels to a real Daemon, served as hodeid serves it: ``build_server`` (the
production codec, health and reflection, every service behind the token check) on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from grpclib.client import Channel
from grpclib.events import SendRequest, listen

from hodeid.api.server import build_server
from hodeid.control.daemon import Daemon
from hodeid.domain.access import Role
from tests.support.sockets import listening_socket


def bearer(channel: Channel, token: str) -> None:
    """Send ``authorization: Bearer <token>`` with every request made on ``channel``."""

    async def add(event: SendRequest) -> None:
        event.metadata["authorization"] = f"Bearer {token}"

    listen(channel, SendRequest, add)


@asynccontextmanager
async def channel_for(
    daemon: Daemon, role: Role | None = Role.ADMIN, name: str = ""
) -> AsyncIterator[Channel]:
    """A channel to ``daemon``'s server, carrying a new token of ``role`` (none if None)
    named ``name`` (default ``test-<role>``)."""
    server = build_server(daemon, daemon.limits.max_message_bytes)
    listening = listening_socket()
    await server.start(sock=listening)
    channel = Channel("127.0.0.1", listening.getsockname()[1])
    try:
        if role is not None:
            _, token = await daemon.api_tokens.create(name or f"test-{role.value}", role)
            bearer(channel, token)
        yield channel
    finally:
        channel.close()
        server.close()
        await server.wait_closed()
