"""The console's watches over several daemons: after losing one it tries a daemon not yet tried
at once, and waits out the backoff only once every daemon has failed."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

from textual.message import Message

from hodei_api import v1
from hodei_api.backoff import Backoff
from hodei_api.rotation import Rotation
from hodei_tui.console import messages as m
from hodei_tui.console.feeds import Feeds
from hodei_tui.errors import DaemonUnreachable

DELAY = 0.01


class Ceiling(random.Random):
    """Draws the top of the jitter range: every backoff delay is the ceiling, never 0."""

    def uniform(self, a: float, b: float) -> float:
        return b


class Daemons:
    """Watches from the daemon in use; one that is down fails them and hands the next calls to
    the next address, as ``Backend`` does."""

    def __init__(self, *down: str) -> None:
        self.rotation = Rotation(["a:1", "b:2"])
        self.down = set(down)

    @property
    def addr(self) -> str:
        return self.rotation.current

    async def _watch(self) -> None:
        addr = self.addr
        await asyncio.sleep(0)  # connecting: both watches start before either fails
        if addr in self.down:
            self.rotation.failed(addr)
            raise DaemonUnreachable(f"{addr} is down")

    async def watch_jobs(self, limit: int) -> AsyncIterator[v1.JobEvent]:
        await self._watch()
        yield v1.JobEvent(listed=True)
        await asyncio.Event().wait()

    async def watch_workers(self) -> AsyncIterator[v1.WorkerEvent]:
        await self._watch()
        yield v1.WorkerEvent(listed=True)
        await asyncio.Event().wait()


async def connection_changes(client: Daemons, count: int) -> list[Message]:
    """The first ``count`` Connected and Disconnected messages the watches post."""
    posted: list[Message] = []

    def post(message: Message) -> None:
        if isinstance(message, m.Connected | m.Disconnected):
            posted.append(message)

    # Only the watches are used.
    feeds = Feeds(client, post, Backoff(base=DELAY, cap=DELAY, rng=Ceiling()))  # type: ignore[arg-type]
    watching = asyncio.create_task(feeds.watch())
    try:
        async with asyncio.timeout(10):
            while len(posted) < count:
                await asyncio.sleep(0.001)
    finally:
        watching.cancel()
    return posted[:count]


def summary(message: Message) -> tuple[object, ...]:
    if isinstance(message, m.Disconnected):
        return ("down", message.addr, message.error, message.attempts, message.retry_in)
    assert isinstance(message, m.Connected)
    return ("up", message.addr)


async def test_the_next_daemon_is_tried_at_once() -> None:
    posted = await connection_changes(Daemons("a:1"), 2)
    assert [summary(p) for p in posted] == [("down", "a:1", "a:1 is down", 1, 0.0), ("up", "b:2")]


async def test_the_backoff_comes_once_every_daemon_failed() -> None:
    posted = await connection_changes(Daemons("a:1", "b:2"), 3)
    assert [summary(p) for p in posted] == [
        ("down", "a:1", "a:1 is down", 1, 0.0),
        ("down", "b:2", "b:2 is down", 2, DELAY),
        ("down", "a:1", "a:1 is down", 3, DELAY),
    ]
