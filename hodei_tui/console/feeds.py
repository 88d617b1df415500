"""The console's live feeds: the jobs and workers watches (one connection, reconnected with
backoff, or to the next daemon of several), and the selected job's log and decisions (resumed
after a reconnection)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from textual.message import Message

from hodei_api import v1
from hodei_api.backoff import Backoff
from hodei_tui.console import messages as m
from hodei_tui.console.protocol import ConsoleClient
from hodei_tui.errors import DaemonUnreachable, HodeiError, RequestRefused

Post = Callable[[Message], object]
JOBS_LISTED = 500
# Schedules change seldom and have no watch: they are listed again this often (seconds).
SCHEDULES_EVERY = 5.0


class StreamEnded(DaemonUnreachable):
    """hodeid closed the watch (it is stopping); connecting again."""


class Feeds:
    """Runs the watches; tells the screen through ``post``. ``online`` is set while connected."""

    def __init__(self, client: ConsoleClient, post: Post, backoff: Backoff) -> None:
        self.client = client
        self.post = post
        self.backoff = backoff
        self.online = asyncio.Event()

    async def watch(self) -> None:
        """Follow jobs and workers for ever, reconnecting after a failure: at once to a daemon
        not tried since the connection was lost (several hodeid on one database), else after
        the backoff."""
        attempts = 0
        tried: set[str] = set()
        while True:
            started = time.monotonic()
            addr = self.client.addr
            tried.add(addr)
            listed: set[str] = set()
            try:
                async with asyncio.TaskGroup() as group:
                    group.create_task(self._jobs(listed, addr))
                    group.create_task(self._workers(listed, addr))
            except* HodeiError as failed:
                error = str(failed.exceptions[0])
            self.online.clear()
            attempts += 1
            delay = self.backoff.next_delay(time.monotonic() - started)
            if listed == {"jobs", "workers"}:
                attempts = 1  # it was up: a fresh series of retries
                tried = {addr}
            if self.client.addr not in tried:
                delay = 0.0
            self.post(m.Disconnected(addr, error, attempts, delay))
            await asyncio.sleep(delay)

    def _listed(self, listed: set[str], what: str, addr: str) -> None:
        listed.add(what)
        if listed == {"jobs", "workers"}:
            self.online.set()
            self.post(m.Connected(addr))

    async def _jobs(self, listed: set[str], addr: str) -> None:
        batch: list[v1.Job] = []
        relisting = True
        async for event in self.client.watch_jobs(JOBS_LISTED):
            if event.listed:
                self.post(m.JobsListed(batch))
                batch, relisting = [], False
                self._listed(listed, "jobs", addr)
            elif event.job is not None:
                if relisting:
                    batch.append(event.job)
                else:
                    self.post(m.JobChanged(event.job))
        raise StreamEnded(f"hodeid at {addr} ended the jobs watch (stopping?)")

    async def _workers(self, listed: set[str], addr: str) -> None:
        batch: list[v1.WorkerInfo] = []
        relisting = True
        async for event in self.client.watch_workers():
            if event.listed:
                self.post(m.WorkersListed(batch))
                batch, relisting = [], False
                self._listed(listed, "workers", addr)
            elif event.worker is not None:
                if relisting:
                    batch.append(event.worker)
                else:
                    self.post(m.WorkerChanged(event.worker))
        raise StreamEnded(f"hodeid at {addr} ended the workers watch (stopping?)")

    async def schedules(self) -> None:
        """The schedules, asked for again every ``SCHEDULES_EVERY`` seconds while connected."""
        while True:
            await self.online.wait()
            try:
                self.post(m.SchedulesListed(await self.client.list_schedules()))
            except RequestRefused as exc:
                # An older daemon serves no schedules: say so once, then stop asking.
                self.post(m.Refused("schedules", str(exc)))
                return
            except DaemonUnreachable:
                pass
            await asyncio.sleep(SCHEDULES_EVERY)

    async def log(self, job_id: str, after_seq: Callable[[], int]) -> None:
        """The job's log from the last line held, resumed after each reconnection, until the
        job ends."""
        while True:
            await self.online.wait()
            try:
                async for chunk in self.client.stream_logs(job_id, after_seq(), follow=True):
                    if chunk.lines:
                        self.post(m.LogLines(job_id, chunk.lines))
                    if chunk.final_state is not v1.JobState.UNSPECIFIED:
                        self.post(m.LogEnded(job_id, chunk.final_state))
                        return
            except RequestRefused as exc:
                self.post(m.Refused("log", str(exc)))
                return
            except DaemonUnreachable:
                self.post(m.LogInterrupted(job_id, after_seq()))
                # The watches notice too and clear ``online``; wait for them to be back.
                await asyncio.sleep(0.5)
                continue
            # A followed log ends only with the job; an end without a state is a lost stream.
            self.post(m.LogInterrupted(job_id, after_seq()))
            await asyncio.sleep(0.5)

    async def trace(self, job_id: str) -> None:
        """The job's explanation, then its decisions as they are made; again after a gap."""
        while True:
            await self.online.wait()
            try:
                self.post(m.Explained(job_id, await self.client.explain_job(job_id)))
                async for decision in self.client.watch_decisions(job_id):
                    self.post(m.DecisionMade(decision))
            except RequestRefused as exc:
                self.post(m.Refused("explain", str(exc)))
                return
            except DaemonUnreachable:
                pass
            await asyncio.sleep(0.5)
