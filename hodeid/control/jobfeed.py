"""Job changes to watchers: every change to a job row, made by this daemon or another sharing
the database, is announced by PostgreSQL (LISTEN/NOTIFY); the feed reads the changed jobs in
batches and hands them to each watcher. It also wakes the log followers of each changed job
(a follower of a job that ends on another daemon ends at once).

A watcher holds at most one pending copy of each job (a newer one replaces it), is sent what
changed at most every ``COALESCE_SECONDS``, and holds at most
``MAX_PENDING`` jobs: a watcher that falls further behind is dropped to a fresh listing
instead of slowing the daemon or growing without bound.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from hodei_api import v1
from hodeid.control.listening import Listen, keep_listening
from hodeid.control.loghub import LogHub
from hodeid.errors import StoreError
from hodeid.store.jobs import JobStore

log = logging.getLogger(__name__)

MAX_PENDING = 5000
# A watcher is sent what changed at most this often: a job that goes PENDING, ASSIGNED, RUNNING
# and SUCCEEDED within it is sent once, as it is then (a console redraws no faster anyway).
COALESCE_SECONDS = 0.1
# Jobs read per query when many changed at once.
READ_BATCH = 1000


@dataclass(eq=False)
class JobWatcher:
    pending: dict[str, v1.Job] = field(default_factory=dict)
    # Set when changes were lost: the watcher starts over from a fresh listing.
    resync: bool = True
    ready: asyncio.Event = field(default_factory=asyncio.Event)

    def offer(self, job: v1.Job) -> None:
        if self.resync:
            return
        self.pending.pop(job.id, None)  # keep the order of changes: a changed job goes last
        self.pending[job.id] = job
        if len(self.pending) > MAX_PENDING:
            self.drop()
        self.ready.set()

    def drop(self) -> None:
        self.pending.clear()
        self.resync = True
        self.ready.set()


class JobFeed:
    def __init__(self, jobs: JobStore, listen: Listen, followers: LogHub) -> None:
        self.jobs = jobs
        self._listen = listen
        self._followers = followers
        self._changed: set[str] = set()
        self._wake = asyncio.Event()
        self._watchers: set[JobWatcher] = set()

    def changed(self, job_ids: str) -> None:
        """Note that jobs changed: their ids, comma-separated, as the notifications carry them."""
        ids = job_ids.split(",")
        for job_id in ids:
            self._followers.changed(job_id)
        self._changed.update(ids)
        self._wake.set()

    async def run(self) -> None:
        """Listen for changes and deliver them, listening again after a lost connection."""
        reader = asyncio.create_task(self._deliver(), name="job feed reader")
        try:
            await keep_listening(self._listen, self.changed, self._listening, "job notifications")
        finally:
            reader.cancel()

    def _listening(self) -> None:
        # Changes made while nobody listened are unknown: every watcher starts over, from a
        # listing read after this point, so no change falls between the two; every log
        # follower looks at its job again.
        for watcher in self._watchers:
            watcher.drop()
        self._followers.missed()

    async def _deliver(self) -> None:
        while True:
            await self._wake.wait()
            if self._watchers:
                # Gather the changes of the next moment too: one query reads them all.
                await asyncio.sleep(COALESCE_SECONDS)
            self._wake.clear()
            while self._changed:
                ids = [self._changed.pop() for _ in range(min(READ_BATCH, len(self._changed)))]
                if not self._watchers:
                    continue
                try:
                    jobs = await self.jobs.many(ids)
                except StoreError as exc:
                    log.warning("job changes not read (%s); watchers start over", exc.message)
                    for watcher in self._watchers:
                        watcher.drop()
                    break
                for job in jobs:
                    for watcher in self._watchers:
                        watcher.offer(job)

    async def watch(self, limit: int) -> AsyncIterator[v1.JobEvent]:
        """The newest ``limit`` jobs, the ``listed`` marker, then each job as it changes;
        after a gap (a slow watcher, lost notifications) the listing is sent again."""
        watcher = JobWatcher()
        self._watchers.add(watcher)
        try:
            while True:
                if watcher.resync:
                    # Changes from here on are kept; the listing read next may already hold
                    # some of them, which only repeats a job's latest state.
                    watcher.resync = False
                    watcher.ready.clear()
                    for job in await self.jobs.page([], limit, None):
                        yield v1.JobEvent(job=job)
                    yield v1.JobEvent(listed=True)
                await watcher.ready.wait()
                await asyncio.sleep(COALESCE_SECONDS)
                watcher.ready.clear()
                while watcher.pending and not watcher.resync:
                    _, job = next(iter(watcher.pending.items()))
                    del watcher.pending[job.id]
                    yield v1.JobEvent(job=job)
        finally:
            self._watchers.discard(watcher)
