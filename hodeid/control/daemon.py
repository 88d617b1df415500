"""The running system: stores, registry, scheduler, worker sessions and log hub wired
together, and the operations the API calls."""

from __future__ import annotations

import asyncio
import base64
import logging
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from contextlib import aclosing
from dataclasses import replace
from datetime import UTC, datetime
from importlib.metadata import version

import asyncpg

from hodei_api import v1
from hodeid.config import LimitSettings, SchedulerSettings
from hodeid.control.apitokens import ApiTokens
from hodeid.control.cancels import CancelRelay
from hodeid.control.credentials import WorkerCredentials
from hodeid.control.daemoninfo import daemon_infos
from hodeid.control.decisions import STOP_WAIT, DecisionLog, to_proto
from hodeid.control.follow import Chunk, follow
from hodeid.control.heap import Heap
from hodeid.control.jobfeed import JobFeed
from hodeid.control.lease import Lease
from hodeid.control.ledger import Ledger
from hodeid.control.loghub import LogHub
from hodeid.control.logwakes import LogWakes
from hodeid.control.providers.base import Provider
from hodeid.control.providers.fleet import Fleet
from hodeid.control.registry import Registry
from hodeid.control.reports import Reports
from hodeid.control.revocations import Revocations
from hodeid.control.scheduler import Scheduler, cancel_message
from hodeid.control.schedules import Schedules
from hodeid.control.sessions import WorkerSessions
from hodeid.control.settle import Settler
from hodeid.control.tokens import JoinTokens
from hodeid.control.workerfeed import WorkerFeed
from hodeid.control.workerinfo import recorded_info, worker_info
from hodeid.domain import dependencies
from hodeid.domain.classes import class_of
from hodeid.domain.placement import Decision
from hodeid.domain.states import ACTIVE, TERMINAL
from hodeid.domain.validation import SpecLimits, validate
from hodeid.errors import Conflict, InvalidRequest, NotFound, StoreError
from hodeid.store import db
from hodeid.store.credentials import CredentialStore
from hodeid.store.daemons import DaemonStore
from hodeid.store.decisions import DecisionStore
from hodeid.store.holders import HolderStore
from hodeid.store.jobs import JobStore
from hodeid.store.leadership import LeaderLock
from hodeid.store.listen import CANCEL_CHANNEL, JOB_CHANNEL, LOG_CHANNEL, TOKEN_CHANNEL, listen
from hodeid.store.logs import LogStore
from hodeid.store.schedules import ScheduleStore
from hodeid.store.tokens import TokenStore
from hodeid.store.workers import WorkerStore

log = logging.getLogger(__name__)

DEFAULT_PAGE = 100
MAX_PAGE = 1000
# Daemons that stopped or whose lease ran out are listed this long after.
RECENT_DAEMONS = 3600.0
# A database that does not answer SELECT 1 this fast counts as unreachable for health checks.
PING_TIMEOUT = 2.0


class Daemon:
    def __init__(
        self,
        pool: asyncpg.Pool,
        settings: SchedulerSettings,
        providers: Sequence[Provider] = (),
        tokens: JoinTokens | None = None,
        limits: LimitSettings | None = None,
        listen_pool: asyncpg.Pool | None = None,
        address: str = "",
    ) -> None:
        self.id = uuid.uuid4().hex
        self.pool = pool
        self.limits = limits or LimitSettings()
        self.spec_limits = SpecLimits(
            self.limits.max_command_args, self.limits.max_command_bytes, self.limits.max_env_vars,
            self.limits.max_env_bytes, self.limits.max_selector_terms, self.limits.max_label_bytes,
        )  # fmt: skip
        self.api_tokens = ApiTokens(TokenStore(pool))
        self.jobs = JobStore(pool)
        self.logs = LogStore(pool)
        self.heap = Heap()
        self.hub = LogHub(self.limits.follower_buffer_bytes, self.limits.followers_buffer_bytes)
        self.registry = Registry()
        self.ledger = Ledger(self.registry.changed)
        self.daemon_store = DaemonStore(pool)
        self.lease = Lease(
            self.daemon_store, LeaderLock(pool), self.registry, self.id, address, version("hodei"),
            settings.lease_seconds, self._end_streams,
        )  # fmt: skip
        self.settler = Settler(self.jobs, self.hub, self.ledger)
        self.decisions = DecisionLog(DecisionStore(pool), settings.decisions_per_job, self.id)
        self.tokens = tokens or JoinTokens(pool)
        self.fleet = Fleet(
            providers, self.registry, self.tokens,
            leading=lambda: self.lease.leading, elsewhere=lambda: self.lease.elsewhere,
            others_run=lambda: self.daemon_store.others_live(self.id),
        )  # fmt: skip
        holders = HolderStore(pool)
        self.scheduler = Scheduler(
            settings, self.jobs, self.registry, self.settler, self.decisions, self.fleet,
            self.ledger, holders, self.lease,
        )  # fmt: skip
        self.worker_store = WorkerStore(pool)
        reports = Reports(self.scheduler, self.ledger, self.settler, self.jobs, self.logs, self.hub)
        self.sessions = WorkerSessions(
            settings, self.lease, self.registry, self.ledger, self.scheduler, self.settler, reports,
            holders, self.worker_store, self.tokens, WorkerCredentials(CredentialStore(pool)),
            self.limits,
        )  # fmt: skip
        # Job changes, stored log lines and token revocations are heard on connections of
        # ``listen_pool`` (the main pool if none).
        notified = listen_pool or pool
        self.job_feed = JobFeed(self.jobs, lambda *calls: listen(notified, JOB_CHANNEL, *calls), self.hub)
        self.log_wakes = LogWakes(
            self.hub, lambda *calls: listen(notified, LOG_CHANNEL, *calls), self.logs.writer
        )
        self.cancel_relay = CancelRelay(
            self.jobs, self.ledger, lambda *calls: listen(notified, CANCEL_CHANNEL, *calls), self.id
        )
        self.revocations = Revocations(
            self.api_tokens.store,
            lambda *calls: listen(notified, TOKEN_CHANNEL, *calls),
            self.api_tokens.cache,
        )
        self.worker_feed = WorkerFeed(self.registry, self.id, self._elsewhere)
        self.schedules = Schedules(
            ScheduleStore(pool), self.spec_limits, lambda: self.lease.leading, self.cancel,
            self.scheduler.wake,
        )  # fmt: skip
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Take a lease among the daemons sharing the database, then run."""
        await self.lease.acquire()
        for name, loop in (
            ("lease", self.lease.run()),
            ("scheduler", self.scheduler.run()),
            ("job feed", self.job_feed.run()),
            ("log notifications", self.log_wakes.run()),
            ("token revocations", self.revocations.run()),
            ("cancel notifications", self.cancel_relay.run()),
            ("schedules", self.schedules.run()),
        ):
            task = asyncio.create_task(loop, name=name)
            task.add_done_callback(_die_with)
            self._tasks.append(task)

    def _end_streams(self) -> None:
        for session in list(self.registry.sessions.values()):
            session.close()

    async def stop(self) -> None:
        """Close every worker stream (workers reconnect to the next daemon), end the lease
        and stop."""
        self._end_streams()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.decisions.writer.close(STOP_WAIT)
        await self.sessions.stop_readers()
        try:
            await self.lease.release()
        except StoreError as exc:
            log.warning("could not end this daemon's lease (it runs out by itself): %s", exc.message)
        await self.fleet.close()
        await self.heap.close()

    async def database_ok(self) -> bool:
        """Whether the database answers a trivial query within ``PING_TIMEOUT`` seconds."""
        try:
            await db.ping(self.pool, PING_TIMEOUT)
        except StoreError as exc:
            log.warning("database unreachable: %s", exc.message)
            return False
        return True

    async def job_counts(self) -> tuple[dict[str, int], int]:
        """How many jobs the database holds in each state, and how many PENDING ones wait on
        dependencies."""
        return await self.jobs.count_by_state()

    async def submit(self, spec: v1.JobSpec, submitter: str | None = None) -> tuple[v1.Job, bool]:
        """Queue a job for the API token ``submitter``, within its limit of pending jobs."""
        spec = validate(spec, self.spec_limits)
        after = [await self._dependency_id("--after", j) for j in spec.after]
        after_any = [await self._dependency_id("--after-any", j) for j in spec.after_any]
        spec = replace(spec, after=list(dict.fromkeys(after)), after_any=list(dict.fromkeys(after_any)))
        wanted = dependencies.requested(spec.after, spec.after_any)
        limit = None if submitter is None else self.limits.max_pending_per_submitter
        job, existing = await self.jobs.insert(
            spec, submitter, limit, placement_class=class_of(spec),
            dependencies={d.job_id: d.kind.value for d in wanted},
            start=lambda states: _start(wanted, states),
        )  # fmt: skip
        if not existing:
            command = " ".join(job.spec.command if job.spec else [])
            log.debug("job %s submitted: %s", job.id, command, extra={"job_id": job.id})
            self.scheduler.wake()
        return job, existing

    async def _dependency_id(self, flag: str, job_id: str) -> str:
        """The whole id of the job a dependency names (a unique prefix is enough); an unknown
        one is refused as a bad argument, not as a job not found."""
        try:
            return str(uuid.UUID(await self.jobs.resolve_id(job_id)))
        except (NotFound, InvalidRequest) as exc:
            raise InvalidRequest(f"{flag} {job_id}: {exc.message}") from exc
        except ValueError as exc:
            raise InvalidRequest(
                f"{flag} {job_id!r} is not a job id; give a job's id or a unique prefix of it "
                "(at least 4 hex digits, see hodei job list)"
            ) from exc

    async def get(self, job_id: str) -> v1.Job:
        """One job with its attempts; ``job_id`` may be a unique prefix of its id, as may the
        id given to cancel, retry, explain and stream_logs."""
        return await self.jobs.get(await self.jobs.resolve_id(job_id))

    async def page(
        self, states: list[v1.JobState], limit: int, page_token: str
    ) -> tuple[list[v1.Job], str, int | None]:
        """A page of jobs newest first, the cursor to the next (empty after a page that is not
        full) and, after a full page, how many jobs of ``states`` there are in all: counted only
        then, since a page that is not full tells the caller it has them all."""
        if limit < 0:
            raise InvalidRequest(f"limit must be positive, got {limit}")
        limit = min(limit or DEFAULT_PAGE, MAX_PAGE)
        found = await self.jobs.page(states, limit, _decode_cursor(page_token))
        last = found[-1] if len(found) == limit else None
        token = _encode_cursor(last.created_at, last.id) if last and last.created_at else ""
        total = await self.jobs.count(states) if len(found) == limit else None
        return found, token, total

    async def cancel(self, job_id: str, reason: str, by: str = "") -> v1.Job:
        """Cancel a PENDING job at once; for one a worker holds, record the cancel (so that it
        is sent again when a disconnected worker returns, and the job is not retried after
        it) and send it to the worker if it is connected. ``by`` names who asked (the API
        token's name), kept in the job's reason with theirs."""
        job_id = await self.jobs.resolve_id(job_id)
        if by:
            reason = f"{reason} (cancelled by {by})" if reason else f"cancelled by {by}"
        reason = reason or "cancelled by request"
        # A job may move between PENDING and held (claimed, or retried) while we look.
        for _ in range(3):
            if await self.jobs.cancel_pending(job_id, reason) is not None:
                self.hub.finish(job_id, v1.JobState.CANCELLED)
                return await self.jobs.get(job_id)
            if (held := await self.jobs.request_cancel(job_id, reason, ACTIVE)) is not None:
                session = self.ledger.holder((held.id, held.attempt))
                grace = held.spec.kill_grace_seconds if held.spec else 0.0
                if session is not None:
                    session.send(cancel_message(held.id, held.attempt, grace, reason))
                else:
                    log.info(
                        "job %s: cancel recorded; worker %s is away: it gets the cancel when it "
                        "reconnects, or the job ends CANCELLED when the worker is lost",
                        held.id, held.worker_id, extra={"job_id": held.id},
                    )  # fmt: skip
                return await self.jobs.get(job_id)
            if (state := await self.jobs.state(job_id)) is not v1.JobState.PENDING:
                raise Conflict(f"job {job_id} already ended ({state.name}); nothing to cancel")
        raise Conflict(f"job {job_id} kept changing state while being cancelled; try again")

    async def retry(self, job_id: str) -> v1.Job:
        """Queue a finished job again as its next attempt; refuse one that has not finished."""
        job_id = await self.jobs.resolve_id(job_id)
        before = await self.jobs.get(job_id)
        reason = f"retried by request after it ended {before.state.name}"
        job = await self.jobs.retry_finished(job_id, reason, TERMINAL)
        if job is None:
            state = await self.jobs.state(job_id)
            raise Conflict(
                f"job {job_id} is {state.name}, not finished; only a SUCCEEDED, FAILED, CANCELLED "
                f"or TIMED_OUT job can be retried (cancel it first, or wait for it to end)"
            )
        log.info("job %s retried by request", job.id, extra={"job_id": job.id})
        self.scheduler.wake()
        return job

    async def explain(self, job_id: str) -> v1.ExplainJobResponse:
        """The job's decisions, newest first; a PENDING job's first one is evaluated now."""
        job = await self.jobs.get(await self.jobs.resolve_id(job_id))
        decisions = await self.decisions.history(job.id)
        if job.state is v1.JobState.PENDING:
            decisions.insert(0, to_proto(await self._evaluate(job), datetime.now(UTC), self.id))
        return v1.ExplainJobResponse(state=job.state, decisions=decisions)

    async def _evaluate(self, job: v1.Job) -> Decision:
        """Why a PENDING job waits now: the jobs it waits on, if any, else where it would go."""
        if unfinished := await self.jobs.unfinished_dependencies(job.id):
            waits = [dependencies.Unfinished(j, dependencies.Kind(k), st, n) for j, k, st, n in unfinished]
            return dependencies.waiting_decision(job.id, waits, self.scheduler.policy.strategy)
        return self.scheduler.evaluate(job)

    def watch_decisions(self, job_id: str) -> AsyncGenerator[v1.Decision]:
        return self.decisions.watch(job_id)

    def watch_jobs(self, limit: int) -> AsyncIterator[v1.JobEvent]:
        if limit < 0:
            raise InvalidRequest(f"limit must be positive, got {limit}")
        return self.job_feed.watch(min(limit or DEFAULT_PAGE, MAX_PAGE))

    def watch_workers(self) -> AsyncIterator[v1.WorkerEvent]:
        return self.worker_feed.watch()

    def stream_logs(self, job_id: str, after_seq: int, live: bool) -> AsyncGenerator[Chunk]:
        if after_seq < 0:
            raise InvalidRequest(f"after_seq must be 0 or more, got {after_seq}")
        return self._stream_logs(job_id, after_seq, live)

    async def _stream_logs(self, job_id: str, after_seq: int, live: bool) -> AsyncGenerator[Chunk]:
        job_id = await self.jobs.resolve_id(job_id)
        chunks = follow(self.jobs, self.logs, self.hub, job_id, after_seq, live, self.limits.log_page_bytes)
        try:
            async with aclosing(chunks):
                async for chunk in chunks:
                    yield chunk
        finally:
            # Pages of up to log_page_bytes came and went: give the freed memory back.
            self.heap.trim_soon()

    async def workers(self, include_gone: bool = False) -> list[v1.WorkerInfo]:
        """Live workers by id, this daemon's and (by the database's record) those streaming to
        the other live daemons; with ``include_gone``, then the recently disconnected ones and
        those of daemons whose lease ran out. Placement never looks at the others: a worker is
        available only to the daemon that holds its stream."""
        mine = self.worker_feed.snapshot() if include_gone else self.own_workers()
        try:
            others = await self._elsewhere(include_gone)
        except StoreError as exc:
            log.warning("listing only this daemon's workers: %s", exc.message)
            others = []
        # A worker that just moved may show on both sides for a moment: a live stream here wins,
        # then the record of a live stream elsewhere.
        here = {w.id for w in mine if w.live}
        others = [w for w in others if w.id not in here]
        elsewhere = {w.id for w in others if w.live}
        listed = [w for w in mine if w.live or w.id not in elsewhere] + others
        return sorted(listed, key=lambda w: (not w.live, w.id))

    async def _elsewhere(self, include_lapsed: bool = False) -> list[v1.WorkerInfo]:
        """The workers streaming to the other daemons, by the database's record."""
        return [recorded_info(w) for w in await self.worker_store.on_other_daemons(self.id, include_lapsed)]

    def own_workers(self) -> list[v1.WorkerInfo]:
        """The workers whose live stream this daemon holds, by id."""
        now = time.monotonic()
        return [worker_info(s, now, self.id) for s in sorted(self.registry.live(), key=lambda s: s.worker_id)]

    async def daemons(self) -> v1.ListDaemonsResponse:
        """The daemons sharing the database: the live ones and those gone within
        ``RECENT_DAEMONS`` seconds, and which one answered (this one)."""
        rows = await self.daemon_store.list(RECENT_DAEMONS)
        return v1.ListDaemonsResponse(
            daemons=daemon_infos(rows, self.id, self.lease.leading), answered_by=self.id
        )

    def providers(self) -> list[v1.ProviderInfo]:
        return self.fleet.info()

    def drain(self, worker_id: str, stay: bool) -> v1.WorkerInfo:
        session = self.registry.get(worker_id)
        if session is None:
            raise NotFound(
                f"worker {worker_id} is not connected to this daemon (see hodei worker list: its "
                "DAEMON column names the daemon it streams to; drain it there with --addr)"
            )
        session.draining = True
        session.send(v1.DaemonMessage(drain=v1.Drain(stay=stay)))
        self.registry.changed(worker_id)
        return worker_info(session, time.monotonic(), self.id)


def _start(
    wanted: Sequence[dependencies.Dependency], states: Mapping[str, v1.JobState]
) -> tuple[v1.JobState, str, Mapping[str, v1.JobState], int]:
    start = dependencies.at_submit(wanted, states)
    return start.state, start.reason, start.settled, start.waiting_on


def _encode_cursor(created_at: datetime, job_id: str) -> str:
    return base64.urlsafe_b64encode(f"{created_at.isoformat()}|{job_id}".encode()).decode()


def _decode_cursor(token: str) -> tuple[datetime, str] | None:
    if not token:
        return None
    try:
        created, job_id = base64.urlsafe_b64decode(token.encode()).decode().split("|")
        return datetime.fromisoformat(created), str(uuid.UUID(job_id))
    except ValueError as exc:
        raise InvalidRequest("page_token is not one this daemon issued; start without one") from exc


def _die_with(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.critical("the %s stopped", task.get_name(), exc_info=task.exception())
