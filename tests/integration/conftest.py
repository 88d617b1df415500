"""Integration fixtures: a real Daemon on the test's database, its services over grpclib."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import pytest

from hodeid.config import SchedulerSettings
from hodeid.control.daemon import Daemon
from hodeid.store import db
from tests.support.auth import channel_for
from tests.support.scripted_worker import FAST

StartDaemon = Callable[..., Awaitable[Daemon]]


@pytest.fixture
async def daemon(pool: asyncpg.Pool) -> AsyncIterator[Daemon]:
    daemon = Daemon(pool, FAST)
    await daemon.start()
    yield daemon
    await daemon.stop()


@pytest.fixture
async def channel(daemon: Daemon) -> AsyncIterator[object]:
    async with channel_for(daemon) as channel:
        yield channel


@pytest.fixture
async def start_daemon(pool: asyncpg.Pool, database_url: str) -> AsyncIterator[StartDaemon]:
    """Start daemons on the test's database, each with a pool of its own, as processes have:
    ``await start_daemon(settings, **overrides)``; each is stopped after the test."""
    daemons: list[Daemon] = []

    async def start(settings: SchedulerSettings = FAST, **overrides: object) -> Daemon:
        own = await db.connect(database_url, min_size=1, max_size=6)
        daemon = Daemon(own, settings.model_copy(update=overrides), address=f"test-{len(daemons)}")
        await daemon.start()
        daemons.append(daemon)
        return daemon

    yield start
    for daemon in daemons:
        await daemon.stop()
        await daemon.pool.close()
