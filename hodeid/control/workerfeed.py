"""Worker changes to watchers: connects, disconnects, drains, slot changes and heartbeats of
this daemon's workers, and the workers streaming to the other daemons on the database.

Each watcher keeps only the set of workers that changed since it was last sent: a worker
that changes a hundred times while a watcher is busy is sent once, as it is then, so a slow
watcher costs the daemon at most one entry per worker. Deliveries are at most one per
``COALESCE_SECONDS``, so heartbeats from a large fleet do not flood the console.

The other daemons' workers come from the database's record (``from_record``), read at most
once per ``RECORD_SECONDS`` while anyone watches, whoever watches: a console attached to one
daemon sees every worker, and which daemon each streams to. They are only shown: placement
looks at this daemon's registry alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace

from hodei_api import v1
from hodeid.control.registry import Registry, Session
from hodeid.control.workerinfo import worker_info
from hodeid.errors import StoreError

log = logging.getLogger(__name__)

COALESCE_SECONDS = 0.5
# Disconnected workers still shown to watchers (the most recently gone).
REMEMBER_GONE = 200
# How often watchers' view of the other daemons' workers is read from the database.
RECORD_SECONDS = 2.0

Recorded = Callable[[], Awaitable[list[v1.WorkerInfo]]]


async def _nobody_else() -> list[v1.WorkerInfo]:
    return []


@dataclass(eq=False)
class WorkerWatcher:
    dirty: set[str] = field(default_factory=set)
    ready: asyncio.Event = field(default_factory=asyncio.Event)


class WorkerFeed:
    def __init__(self, registry: Registry, daemon_id: str, recorded: Recorded = _nobody_else) -> None:
        self.registry = registry
        self.daemon_id = daemon_id
        self.recorded = recorded
        # The sessions last seen of live workers and of recently gone ones.
        self._seen: dict[str, Session] = {}
        self._gone: OrderedDict[str, Session] = OrderedDict()
        # The other daemons' workers as last read, and those no longer in the record (down).
        self._elsewhere: dict[str, v1.WorkerInfo] = {}
        self._left: OrderedDict[str, v1.WorkerInfo] = OrderedDict()
        self._read_at = float("-inf")
        self._watchers: set[WorkerWatcher] = set()
        registry.listeners.append(self.changed)

    def changed(self, worker_id: str) -> None:
        """Note that a worker changed; a worker no longer in the registry is shown as gone."""
        if (session := self.registry.get(worker_id)) is not None:
            self._seen[worker_id] = session
            self._gone.pop(worker_id, None)
        elif (session := self._seen.pop(worker_id, None)) is not None:
            self._gone[worker_id] = session
            while len(self._gone) > REMEMBER_GONE:
                self._gone.popitem(last=False)
        self._mark(worker_id)

    def _mark(self, worker_id: str) -> None:
        for watcher in self._watchers:
            watcher.dirty.add(worker_id)
            watcher.ready.set()

    async def _read_record(self, now: float) -> None:
        """Read the other daemons' workers if the last read is older than ``RECORD_SECONDS``;
        mark those that changed, came or left."""
        if now - self._read_at < RECORD_SECONDS:
            return
        self._read_at = now
        try:
            found = {w.id: w for w in await self.recorded()}
        except StoreError as exc:
            log.warning("the other daemons' workers are not shown for now: %s", exc.message)
            return
        for worker_id in self._elsewhere.keys() - found.keys():
            self._left[worker_id] = replace(self._elsewhere[worker_id], live=False)
            while len(self._left) > REMEMBER_GONE:
                self._left.popitem(last=False)
            self._mark(worker_id)
        for worker_id, info in found.items():
            self._left.pop(worker_id, None)
            if self._elsewhere.get(worker_id) != info:
                self._mark(worker_id)
        self._elsewhere = found

    def _info(self, worker_id: str, now: float) -> v1.WorkerInfo | None:
        """This daemon's live stream first, then a live one elsewhere, then the last seen."""
        if (session := self.registry.get(worker_id)) is not None:
            return worker_info(session, now, self.daemon_id)
        if (info := self._elsewhere.get(worker_id)) is not None and info.live:
            return info
        if (session := self._gone.get(worker_id)) is not None:
            return worker_info(session, now, self.daemon_id)
        return self._elsewhere.get(worker_id) or self._left.get(worker_id)

    def snapshot(self) -> list[v1.WorkerInfo]:
        """This daemon's live workers, then its recently disconnected ones, by id."""
        now = time.monotonic()
        ids = sorted(self.registry.sessions) + sorted(set(self._gone) - set(self.registry.sessions))
        return [info for wid in ids if (info := self._info(wid, now)) is not None]

    def _everyone(self, now: float) -> list[v1.WorkerInfo]:
        ids = set(self.registry.sessions) | set(self._gone) | set(self._elsewhere) | set(self._left)
        listed = [info for wid in ids if (info := self._info(wid, now)) is not None]
        return sorted(listed, key=lambda w: (not w.live, w.id))

    async def watch(self) -> AsyncIterator[v1.WorkerEvent]:
        """Every worker as it is now (the other daemons' too), the ``listed`` marker, then each
        worker that changes."""
        watcher = WorkerWatcher()
        self._watchers.add(watcher)
        try:
            self._read_at = float("-inf")  # a new watcher lists the record as it is now
            await self._read_record(time.monotonic())
            watcher.dirty.clear()
            watcher.ready.clear()
            for info in self._everyone(time.monotonic()):
                yield v1.WorkerEvent(worker=info)
            yield v1.WorkerEvent(listed=True)
            while True:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(RECORD_SECONDS):
                        await watcher.ready.wait()
                await self._read_record(time.monotonic())
                if not watcher.ready.is_set():
                    continue
                await asyncio.sleep(COALESCE_SECONDS)
                watcher.ready.clear()
                dirty, watcher.dirty = watcher.dirty, set()
                now = time.monotonic()
                for worker_id in sorted(dirty):
                    if (changed := self._info(worker_id, now)) is not None:
                        yield v1.WorkerEvent(worker=changed)
        finally:
            self._watchers.discard(watcher)
