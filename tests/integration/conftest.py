"""Integration fixtures: a real Daemon on the test's database, served by build_server on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

import asyncpg
import pytest
from grpclib.client import Channel
from grpclib.config import Configuration

from hodeid.api.server import build_server
from hodeid.config import SchedulerSettings
from hodeid.control.daemon import Daemon
from hodeid.control.providers.base import Provider
from hodeid.domain.access import Role
from hodeid.store import db
from tests.support.auth import bearer, channel_for
from tests.support.scripted_worker import FAST
from tests.support.sockets import listening_socket


@pytest.fixture
async def daemon(pool: asyncpg.Pool) -> AsyncIterator[Daemon]:
    daemon = Daemon(pool, FAST)
    await daemon.start()
    yield daemon
    await daemon.stop()


@pytest.fixture
async def connect(daemon: Daemon) -> AsyncIterator[Callable[..., Channel]]:
    """Connections to the daemon on loopback, one per client as separate processes would
    have (HTTP/2 flow control is per connection too: a reader that stops blocks its own)."""
    server = build_server(daemon, daemon.limits.max_message_bytes)
    sock = listening_socket()
    await server.start(sock=sock)
    _, token = await daemon.api_tokens.create("test-admin", Role.ADMIN)
    channels: list[Channel] = []

    def channel(window: int = 4 * 2**20) -> Channel:
        config = Configuration(http2_connection_window_size=window, http2_stream_window_size=window)
        channels.append(Channel("127.0.0.1", sock.getsockname()[1], config=config))
        bearer(channels[-1], token)
        return channels[-1]

    try:
        yield channel
    finally:
        for c in channels:
            c.close()
        server.close()
        await server.wait_closed()


@pytest.fixture
async def channel(daemon: Daemon) -> AsyncIterator[object]:
    async with channel_for(daemon) as channel:
        yield channel


StartDaemon = Callable[..., Awaitable[Daemon]]


@pytest.fixture
async def start_daemon(database_url: str) -> AsyncIterator[StartDaemon]:
    """Start daemons on the test's database, each with pools of its own as hodeid gives it
    (one for queries, four connections that listen): several daemons sharing a database."""
    started: list[Daemon] = []
    pools: list[asyncpg.Pool] = []

    async def start(settings: SchedulerSettings = FAST, providers: Sequence[Provider] = ()) -> Daemon:
        pools.append(queries := await db.connect(database_url, min_size=1, max_size=6))
        pools.append(listening := await db.connect(database_url, min_size=4, max_size=4))
        daemon = Daemon(queries, settings, providers, listen_pool=listening, address=f"test-{len(started)}")
        await daemon.start()
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        await daemon.stop()
    for pool in pools:
        await pool.close()
