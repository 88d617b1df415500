"""Authenticated in-memory channels to a real Daemon's services (grpclib's ChannelFor),
built with the same guarded services the daemon serves."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from grpclib.client import Channel
from grpclib.events import SendRequest, listen
from grpclib.testing import ChannelFor

from hodeid.api.server import services
from hodeid.control.daemon import Daemon
from hodeid.domain.access import Role


def bearer(channel: Channel, token: str) -> None:
    """Send ``authorization: Bearer <token>`` with every request made on ``channel``."""

    async def add(event: SendRequest) -> None:
        event.metadata["authorization"] = f"Bearer {token}"

    listen(channel, SendRequest, add)


@asynccontextmanager
async def channel_for(
    daemon: Daemon, role: Role | None = Role.ADMIN, name: str = ""
) -> AsyncIterator[Channel]:
    """A channel to ``daemon``'s guarded services, carrying a new token of ``role`` (none if
    None) named ``name`` (default ``test-<role>``)."""
    async with ChannelFor(services(daemon)) as channel:
        if role is not None:
            _, token = await daemon.api_tokens.create(name or f"test-{role.value}", role)
            bearer(channel, token)
        yield channel
