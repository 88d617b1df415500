"""Integration fixtures: a real Daemon on the test's database, its services over grpclib."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from hodeid.control.daemon import Daemon
from tests.support.auth import channel_for
from tests.support.scripted_worker import FAST


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
