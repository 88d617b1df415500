"""Worker streams: Hello -> Welcome, heartbeats both ways, and the worker's reports
(Accepted, LogBatch, Finished, Rejected), each fenced by attempt."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import betterproto2

from hodei_api import v1
from hodeid.config import SchedulerSettings
from hodeid.control.loghub import LogHub
from hodeid.control.registry import Registry, Session
from hodeid.control.scheduler import Scheduler
from hodeid.control.settle import Settler
from hodeid.domain.placement import JobNeeds
from hodeid.domain.states import ACTIVE
from hodeid.errors import InvalidRequest
from hodeid.store.jobs import AttemptEnd, JobStore
from hodeid.store.logs import LogStore
from hodeid.store.workers import WorkerStore

log = logging.getLogger(__name__)

HELLO_TIMEOUT = 10.0


class WorkerSessions:
    def __init__(
        self,
        settings: SchedulerSettings,
        daemon_id: str,
        registry: Registry,
        scheduler: Scheduler,
        settler: Settler,
        jobs: JobStore,
        logs: LogStore,
        workers: WorkerStore,
        hub: LogHub,
    ) -> None:
        self.settings = settings
        self.daemon_id = daemon_id
        self.registry = registry
        self.scheduler = scheduler
        self.settler = settler
        self.jobs = jobs
        self.logs = logs
        self.workers = workers
        self.hub = hub

    async def serve(self, messages: AsyncIterator[v1.WorkerMessage]) -> AsyncIterator[v1.DaemonMessage]:
        """The Connect stream: one live session from Hello until the stream ends."""
        try:
            first = await asyncio.wait_for(anext(messages), HELLO_TIMEOUT)
        except (TimeoutError, StopAsyncIteration) as exc:
            raise InvalidRequest(
                f"a worker must send Hello within {HELLO_TIMEOUT:g} s of connecting"
            ) from exc
        kind, hello = betterproto2.which_one_of(first, "kind")
        if kind != "hello" or not isinstance(hello, v1.Hello):
            raise InvalidRequest(f"the first message on a worker stream must be Hello, not {kind or 'empty'}")
        session, welcome = await self.attach(hello)
        yield v1.DaemonMessage(welcome=welcome)
        tasks = [
            asyncio.create_task(self._read(session, messages), name=f"read {session.worker_id}"),
            asyncio.create_task(self._heartbeat(session), name=f"heartbeat {session.worker_id}"),
        ]
        try:
            while (message := await session.outbox.get()) is not None:
                yield message
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self.detach(session)

    async def attach(self, hello: v1.Hello) -> tuple[Session, v1.Welcome]:
        if not hello.worker_id:
            raise InvalidRequest("Hello needs a worker_id")
        if hello.slots < 1:
            raise InvalidRequest(f"worker {hello.worker_id} offers {hello.slots} slots; at least 1 is needed")
        sessions = await self.workers.record_hello(hello)
        session = Session(hello, reconnects=sessions - 1)
        old = self.registry.add(session)
        if old is not None:
            log.warning("worker %s connected again; closing its older stream", hello.worker_id)
            old.close()
        stale = await self._adopt(session, hello.running)
        log.info(
            "worker %s connected (%d slots, labels %s, %d attempts resumed)",
            hello.worker_id, hello.slots, dict(hello.labels), len(session.running),
        )  # fmt: skip
        self.scheduler.wake()
        welcome = v1.Welcome(
            session_id=session.id,
            daemon_id=self.daemon_id,
            heartbeat_interval_seconds=self.settings.heartbeat_interval_seconds,
            stale=stale,
        )
        return session, welcome

    async def _adopt(self, session: Session, running: list[v1.RunningAttempt]) -> list[v1.RunningAttempt]:
        """Resume the attempts the worker still runs that are still current; the rest are
        stale. Attempts the store gives this worker that it no longer runs are LOST."""
        active = {(j, a): w for j, a, w, _ in await self.jobs.active()}
        stale = []
        for r in running:
            key = (r.job_id, r.attempt)
            if active.get(key) == session.worker_id:
                session.running[key] = JobNeeds(r.job_id)
            else:
                stale.append(r)
        gone = [
            AttemptEnd(j, a, v1.AttemptOutcome.LOST, reason=f"worker {w} came back without it")
            for (j, a), w in active.items()
            if w == session.worker_id and (j, a) not in session.running
            and (j, a) not in self.scheduler.awaiting_ack
        ]  # fmt: skip
        await self.settler.end(gone)
        return stale

    def detach(self, session: Session) -> None:
        session.close()
        self.registry.remove(session)
        for key in session.running:
            self.scheduler.awaiting_ack.pop(key, None)
        log.warning(
            "worker %s disconnected with %d attempts running",
            session.worker_id,
            len(session.running),
        )

    async def _heartbeat(self, session: Session) -> None:
        interval = self.settings.heartbeat_interval_seconds
        seq = 0
        while not session.closed:
            seq += 1
            session.send(v1.DaemonMessage(heartbeat=_heartbeat(session, seq)))
            await asyncio.sleep(interval)
            if session.heartbeat_age() > 3 * interval:
                log.warning(
                    "worker %s silent for %.0f s; dropping its stream",
                    session.worker_id,
                    session.heartbeat_age(),
                )
                session.close()

    async def _read(self, session: Session, messages: AsyncIterator[v1.WorkerMessage]) -> None:
        try:
            async for message in messages:
                session.last_heard = time.monotonic()
                await self.handle(session, message)
        except Exception:
            log.exception("worker %s stream failed", session.worker_id)
        finally:
            session.close()

    async def handle(self, session: Session, message: v1.WorkerMessage) -> None:
        kind, body = betterproto2.which_one_of(message, "kind")
        if isinstance(body, v1.Heartbeat):
            session.peer_beat, session.peer_beat_at = body, time.monotonic()
            if body.echo_sent_at is not None:
                waited = (datetime.now(UTC) - body.echo_sent_at).total_seconds()
                session.rtt_ms = max(0.0, waited - body.echo_held_seconds) * 1000
        elif isinstance(body, v1.Accepted):
            await self._accepted(session, body)
        elif isinstance(body, v1.LogBatch):
            await self._log_batch(session, body)
        elif isinstance(body, v1.Finished):
            await self._finished(session, body)
        elif isinstance(body, v1.Rejected):
            await self._rejected(session, body)
        else:
            log.warning(
                "worker %s sent an unexpected %s; ignored",
                session.worker_id,
                kind or "empty message",
            )

    def _current(self, session: Session, job_id: str, attempt: int, what: str) -> bool:
        if (job_id, attempt) in session.running:
            return True
        log.warning(
            "worker %s: %s for job %s attempt %d refused (stale attempt)",
            session.worker_id,
            what,
            job_id,
            attempt,
        )
        return False

    async def _accepted(self, session: Session, body: v1.Accepted) -> None:
        self.scheduler.awaiting_ack.pop((body.job_id, body.attempt), None)
        if self._current(session, body.job_id, body.attempt, "Accepted"):
            started = body.started_at or datetime.now(UTC)
            await self.jobs.mark_running([(body.job_id, body.attempt, started)])

    async def _log_batch(self, session: Session, body: v1.LogBatch) -> None:
        if not self._current(session, body.job_id, body.attempt, "LogBatch") or not body.lines:
            return
        for line in body.lines:
            line.attempt = body.attempt
        await self.logs.append(body.job_id, body.lines)
        self.hub.publish(body.job_id, body.lines)

    async def _finished(self, session: Session, body: v1.Finished) -> None:
        self.scheduler.awaiting_ack.pop((body.job_id, body.attempt), None)
        if not self._current(session, body.job_id, body.attempt, "Finished"):
            return
        end = AttemptEnd(
            body.job_id, body.attempt, body.outcome, body.exit_code, body.signal,
            body.reason or _describe(body), body.started_at, body.finished_at or datetime.now(UTC),
        )  # fmt: skip
        await self.settler.end([end], ACTIVE)
        self.scheduler.wake()

    async def _rejected(self, session: Session, body: v1.Rejected) -> None:
        self.scheduler.awaiting_ack.pop((body.job_id, body.attempt), None)
        if self._current(session, body.job_id, body.attempt, "Rejected"):
            reason = f"worker {session.worker_id} refused it: {body.reason}"
            end = AttemptEnd(body.job_id, body.attempt, v1.AttemptOutcome.NOT_ACKNOWLEDGED, reason=reason)
            await self.settler.end([end], ACTIVE)
            self.scheduler.wake()


def _heartbeat(session: Session, seq: int) -> v1.Heartbeat:
    peer = session.peer_beat
    return v1.Heartbeat(
        seq=seq,
        sent_at=datetime.now(UTC),
        echo_seq=peer.seq if peer else 0,
        echo_sent_at=peer.sent_at if peer else None,
        echo_held_seconds=time.monotonic() - session.peer_beat_at if peer else 0.0,
    )


def _describe(body: v1.Finished) -> str:
    if body.signal is not None:
        return f"killed by signal {body.signal}"
    if body.exit_code is not None:
        return f"exited with code {body.exit_code}"
    return body.outcome.name.lower()
