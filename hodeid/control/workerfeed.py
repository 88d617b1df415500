"""Worker changes to watchers: connects, disconnects, drains, slot changes and heartbeats.

Each watcher keeps only the set of workers that changed since it was last sent: a worker
that changes a hundred times while a watcher is busy is sent once, as it is then, so a slow
watcher costs the daemon at most one entry per worker. Deliveries are at most one per
``COALESCE_SECONDS``, so heartbeats from a large fleet do not flood the console.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from hodei_api import v1
from hodeid.control.registry import Registry, Session
from hodeid.control.workerinfo import worker_info

COALESCE_SECONDS = 0.5
# Disconnected workers still shown to watchers (the most recently gone).
REMEMBER_GONE = 200


@dataclass(eq=False)
class WorkerWatcher:
    dirty: set[str] = field(default_factory=set)
    ready: asyncio.Event = field(default_factory=asyncio.Event)


class WorkerFeed:
    def __init__(self, registry: Registry, daemon_id: str) -> None:
        self.registry = registry
        self.daemon_id = daemon_id
        # The sessions last seen of live workers and of recently gone ones.
        self._seen: dict[str, Session] = {}
        self._gone: OrderedDict[str, Session] = OrderedDict()
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
        for watcher in self._watchers:
            watcher.dirty.add(worker_id)
            watcher.ready.set()

    def _info(self, worker_id: str, now: float) -> v1.WorkerInfo | None:
        session = self.registry.get(worker_id) or self._gone.get(worker_id)
        return worker_info(session, now, self.daemon_id) if session is not None else None

    def snapshot(self) -> list[v1.WorkerInfo]:
        """Live workers, then the recently disconnected ones, by id."""
        now = time.monotonic()
        ids = sorted(self.registry.sessions) + sorted(set(self._gone) - set(self.registry.sessions))
        return [info for wid in ids if (info := self._info(wid, now)) is not None]

    async def watch(self) -> AsyncIterator[v1.WorkerEvent]:
        """Every worker as it is now, the ``listed`` marker, then each worker that changes."""
        watcher = WorkerWatcher()
        self._watchers.add(watcher)
        try:
            for info in self.snapshot():
                yield v1.WorkerEvent(worker=info)
            yield v1.WorkerEvent(listed=True)
            while True:
                await watcher.ready.wait()
                await asyncio.sleep(COALESCE_SECONDS)
                watcher.ready.clear()
                dirty, watcher.dirty = watcher.dirty, set()
                now = time.monotonic()
                for worker_id in sorted(dirty):
                    if (changed := self._info(worker_id, now)) is not None:
                        yield v1.WorkerEvent(worker=changed)
        finally:
            self._watchers.discard(watcher)
