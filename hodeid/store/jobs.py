"""Jobs and their attempts in PostgreSQL. Every state change is guarded in SQL."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from hodei_api import v1
from hodeid.errors import InvalidRequest, LimitExceeded, NotFound
from hodeid.metrics import START_LATENCY
from hodeid.store import rows
from hodeid.store.db import translate
from hodeid.store.group_insert import GroupInsert
from hodeid.store.queries import Q

# insert_jobs' keys, in the order of _insert_args.
_GROUP_KEYS = (
    "id", "name", "command", "env", "cwd", "selector", "cpu", "memory_mb", "priority",
    "timeout_seconds", "max_retries", "retry_backoff_seconds", "kill_grace_seconds",
    "idempotency_key", "submitted_by", "max_pending", "placement_class",
)  # fmt: skip


@dataclass(frozen=True)
class PendingJob:
    """A locked PENDING job, as the claiming transaction shows it to the placer."""

    id: str
    selector: tuple[str, ...]
    cpu: float
    memory_mb: int
    priority: int
    placement_class: str


@dataclass(frozen=True)
class Assignment:
    job: v1.Job
    first_seq: int


@dataclass(frozen=True)
class CancelAsked:
    """A held attempt a cancel was asked for."""

    job_id: str
    attempt: int
    reason: str
    kill_grace: float


@dataclass(frozen=True)
class AttemptEnd:
    """An attempt that ended (or must be given up), as reported or decided."""

    job_id: str
    attempt: int
    outcome: v1.AttemptOutcome
    exit_code: int | None = None
    signal: int | None = None
    reason: str = ""
    started_at: datetime | None = None
    finished_at: datetime | None = None
    usage: v1.Usage | None = None
    """What the worker reported the kernel counted for it; None if it reported none."""
    fence: str | None = None
    """For a verdict reached without the worker (LOST, TIMED_OUT while away): the stream that
    held the attempt then; if another holds it now (the worker brought it back), it stands."""


@dataclass(frozen=True)
class ActiveRow:
    """The current attempt of a job being settled."""

    job_id: str
    attempt: int
    state: v1.JobState
    failures: int
    max_retries: int
    retry_backoff: float
    cancel_reason: str | None = None


@dataclass(frozen=True)
class Settled:
    job_id: str
    attempt: int
    state: v1.JobState
    waited_on: bool = False
    """Some job waited on this one (a dependency), so its end may have made work claimable."""


# How many placement classes one claim looks into: a bound on its cost when the queue holds
# very many classes (each costs an index descent); the classes past it wait for the ones
# before it to be placed or skipped.
CLAIM_CLASSES = 1024
# How many windows deep a claim reads the heads of the classes, so that daemons claiming at
# the same moment each find rows the others have not locked (SKIP LOCKED skips them).
CLAIM_REACH = 4

# (row, end) -> (new job state, failures to add, retry delay, reason)
Decision = tuple[v1.JobState, int, float, str]
"""The job's next state, the failures to add, the retry's delay (seconds) and the reason."""
Decider = Callable[[ActiveRow, AttemptEnd], Decision]


# (dependency states by whole id) -> (the new job's state, its reason, the dependencies that
# already ended with their states, how many have not)
Starter = Callable[[Mapping[str, v1.JobState]], tuple[v1.JobState, str, Mapping[str, v1.JobState], int]]


# A job id prefix shorter than this would name too many jobs to be worth a query.
MIN_PREFIX = 4
# Candidates an ambiguous prefix's error lists.
CANDIDATES = 5


def _prefix_range(prefix: str) -> tuple[uuid.UUID, uuid.UUID] | None:
    """The ids that start with ``prefix`` (hex digits, dashes where the id has them), as the
    range lowest..highest; None if it is not such a prefix."""
    digits = prefix.lower().replace("-", "")
    if not MIN_PREFIX <= len(digits) < 32 or not all(c in "0123456789abcdef" for c in digits):
        return None
    if not str(uuid.UUID(digits.ljust(32, "0"))).startswith(prefix.lower()):
        return None  # dashes where an id has none
    return uuid.UUID(digits.ljust(32, "0")), uuid.UUID(digits.ljust(32, "f"))


def _pending_job(r: asyncpg.Record) -> PendingJob:
    return PendingJob(
        str(r["id"]), tuple(r["selector"]), r["cpu"], r["memory_mb"], r["priority"], r["placement_class"]
    )


def _usage_columns(usage: v1.Usage | None) -> tuple[float | None, float | None, int | None, float | None]:
    if usage is None:
        return None, None, None, None
    return usage.cpu_user_seconds, usage.cpu_system_seconds, usage.max_rss_bytes, usage.wall_seconds


def _uuid(job_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(job_id)
    except ValueError as exc:
        raise NotFound(f"job {job_id} not found: job ids are UUIDs (see hodei job list)") from exc


def _dependency_uuid(job_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(job_id)
    except ValueError as exc:
        raise InvalidRequest(
            f"{job_id!r} is not a job id; a job runs after jobs named by id or unique prefix "
            "(see hodei job list)"
        ) from exc


class JobStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.group = GroupInsert(pool)

    async def insert(
        self,
        spec: v1.JobSpec,
        submitter: str | None = None,
        max_pending: int | None = None,
        *,
        placement_class: str,
        dependencies: Mapping[str, str] | None = None,
        start: Starter | None = None,
    ) -> tuple[v1.Job, bool]:
        """Store a validated job of ``placement_class`` as PENDING, as submitted by the API
        token ``submitter``, unless that token already has ``max_pending`` PENDING jobs
        (LimitExceeded); with a known idempotency key return that job. Without ``dependencies``
        (whole job id -> dependency kind name) it is committed with the jobs submitted at the
        same moment (GroupInsert); one that is not inserted there is tried alone, which says why.

        With dependencies, their rows are key-share-locked (lock_dependencies says why) and
        ``start`` tells, from their states, how the job starts; the job and its edges are
        stored in that same transaction. An unknown dependency, or a resubmission (by
        idempotency key) naming its own job or a job that runs after it, is refused
        (InvalidRequest)."""
        if not dependencies:
            args = self._insert_args(spec, submitter, max_pending, placement_class)
            group_row = dict(zip(_GROUP_KEYS, (str(args[0]), *args[1:]), strict=True))
            inserted = await self.group.insert(group_row)
            if inserted is not None:
                return rows.job(inserted), False
            async with translate():
                row = await self.pool.fetchrow(Q["insert_job"], *args, [], [], 0, "PENDING", "")
                return await self._inserted(self.pool, row, spec, max_pending)
        assert start is not None
        ids = [_dependency_uuid(job_id) for job_id in dependencies]
        async with translate(), self.pool.acquire() as conn, conn.transaction():
            locked = await conn.fetch(Q["lock_dependencies"], ids)
            found = {str(r["id"]): v1.JobState[r["state"]] for r in locked}
            if missing := [job_id for job_id in dependencies if job_id not in found]:
                raise InvalidRequest(
                    f"no job {', '.join(missing[:3])}: a job can run only after jobs that exist "
                    "(see hodei job list)"
                )
            state, reason, settled, waiting_on = start(found)
            args = self._insert_args(spec, submitter, max_pending, placement_class)
            row = await conn.fetchrow(
                Q["insert_job"], *args, [_dependency_uuid(j) for j in spec.after],
                [_dependency_uuid(j) for j in spec.after_any], waiting_on, state.name, reason,
            )  # fmt: skip
            if row["id"] is not None:
                await conn.execute(
                    Q["insert_dependencies"], row["id"], ids, list(dependencies.values()),
                    [settled[j].name if j in settled else None for j in dependencies],
                )  # fmt: skip
                return rows.job(row), False
            job, existing = await self._inserted(conn, row, spec, max_pending)
            if await conn.fetchval(Q["depends_on_any"], ids, uuid.UUID(job.id)):
                raise InvalidRequest(
                    f"idempotency key {spec.idempotency_key!r} names job {job.id}, and this "
                    "submission would make it run after itself (directly or down a chain of "
                    "dependencies); a job cannot depend on itself: use another key"
                )
            return job, existing

    @staticmethod
    def _insert_args(
        spec: v1.JobSpec, submitter: str | None, max_pending: int | None, placement_class: str
    ) -> tuple[Any, ...]:
        resources = spec.resources or v1.Resources()
        return (
            uuid.uuid4(), spec.name, spec.command, spec.env, spec.cwd, spec.selector,
            resources.cpu, resources.memory_mb, spec.priority, spec.timeout_seconds,
            spec.max_retries, spec.retry_backoff_seconds, spec.kill_grace_seconds,
            spec.idempotency_key or None, submitter, max_pending, placement_class,
        )  # fmt: skip

    @staticmethod
    async def _inserted(
        db: asyncpg.Pool | asyncpg.Connection, row: asyncpg.Record, spec: v1.JobSpec, max_pending: int | None
    ) -> tuple[v1.Job, bool]:
        """The job ``insert_job`` gave, or the one its idempotency key names; else why none."""
        if row["id"] is not None:
            return rows.job(row), False
        key = spec.idempotency_key or None
        # A resubmission with a known key gets its job back, whatever the limit.
        found = None if key is None else await db.fetchrow(Q["get_job_by_idempotency_key"], key)
        if found is not None:
            return rows.job(found), True
        if max_pending is not None and row["pending_before"] >= max_pending:
            raise LimitExceeded(
                f"this token already has {max_pending} PENDING jobs (limits.max_pending_per_submitter); "
                "wait for some to start or cancel some, then submit again"
            )
        raise InvalidRequest(f"idempotency key {key!r} is in use; try again")

    async def unfinished_dependencies(self, job_id: str) -> list[tuple[str, str, v1.JobState, str]]:
        """The jobs ``job_id`` still waits on: (id, dependency kind name, state, name)."""
        async with translate():
            found = await self.pool.fetch(Q["unfinished_dependencies"], _uuid(job_id))
        return [(str(r["depends_on"]), r["kind"], v1.JobState[r["state"]], r["name"]) for r in found]

    async def resolve_id(self, job_id: str) -> str:
        """The id of the one job ``job_id`` names: a whole id as given, or the job whose id
        starts with it (at least 4 hex digits, as the CLI and console show ids cut). NotFound if
        none; InvalidRequest, listing the newest candidates, if several."""
        if (span := _prefix_range(job_id)) is None:
            return job_id  # a whole id, or not an id at all: the lookup says which
        async with translate():
            found = await self.pool.fetch(Q["job_ids_in_range"], *span, CANDIDATES + 1)
        ids = [str(r["id"]) for r in found]
        if not ids:
            raise NotFound(f"no job id starts with {job_id!r} (see hodei job list)")
        if len(ids) > 1:
            listed = ", ".join(ids[:CANDIDATES]) + (", ..." if len(ids) > CANDIDATES else "")
            raise InvalidRequest(
                f"job id prefix {job_id!r} is ambiguous: it starts {listed}; give more of the id"
            )
        return ids[0]

    async def get(self, job_id: str) -> v1.Job:
        async with translate():
            row = await self.pool.fetchrow(Q["get_job"], _uuid(job_id))
            if row is None:
                raise NotFound(f"job {job_id} not found")
            attempts = await self.pool.fetch(Q["get_attempts"], [row["id"]])
        return rows.job(row, attempts)

    async def many(self, job_ids: Sequence[str]) -> list[v1.Job]:
        """The jobs with these ids that exist (without their attempts), in no set order."""
        async with translate():
            found = await self.pool.fetch(Q["get_jobs"], [uuid.UUID(j) for j in job_ids])
        return [rows.job(r) for r in found]

    async def state(self, job_id: str) -> v1.JobState:
        async with translate():
            state = await self.pool.fetchval(Q["job_state"], _uuid(job_id))
        if state is None:
            raise NotFound(f"job {job_id} not found")
        return v1.JobState[state]

    async def page(
        self, states: Sequence[v1.JobState], limit: int, after: tuple[datetime, str] | None
    ) -> list[v1.Job]:
        names = [s.name for s in states] or None
        created, last_id = after if after else (None, None)
        async with translate():
            found = await self.pool.fetch(
                Q["list_jobs"], names, limit, created, uuid.UUID(last_id) if last_id else None
            )
        return [rows.job(r) for r in found]

    async def count(self, states: Sequence[v1.JobState]) -> int:
        """How many jobs are in one of ``states`` (in any, if none given)."""
        async with translate():
            found: int = await self.pool.fetchval(Q["count_jobs"], [s.name for s in states] or None)
        return found

    async def claim(
        self,
        limit: int,
        placer: Callable[[list[PendingJob]], list[tuple[str, str]]],
        streams: Mapping[str, str],
        daemon_id: str,
        skip: Sequence[str] = (),
        classes: int = CLAIM_CLASSES,
    ) -> list[Assignment]:
        """Lock up to ``limit`` PENDING jobs, in priority order, of the first ``classes``
        placement classes not in ``skip``; let ``placer`` pick (job, worker) pairs among them,
        and assign those in the same transaction: a job leaves PENDING only here. Each new
        attempt is held by its worker's stream (``streams``: worker id -> session id) on this
        daemon."""
        async with translate(), self.pool.acquire() as conn, conn.transaction():
            locked = await conn.fetch(Q["lock_pending_jobs"], limit, list(skip), classes, limit * CLAIM_REACH)
            if not locked:
                return []
            pending = [_pending_job(r) for r in locked]
            pairs = placer(pending)
            if not pairs:
                return []
            job_ids = [uuid.UUID(j) for j, _ in pairs]
            workers = [w for _, w in pairs]
            sessions = [streams[w] for w in workers]
            assigned = await conn.fetch(Q["assign_jobs"], job_ids, workers, sessions, daemon_id)
        return [Assignment(rows.job(r), r["first_seq"]) for r in assigned]

    async def count_by_state(self) -> tuple[dict[str, int], int]:
        """How many jobs are in each state (states with none are absent), and how many PENDING
        ones wait on dependencies."""
        async with translate():
            found = await self.pool.fetch(Q["count_jobs_by_state"])
        waiting = sum(r["waiting"] for r in found if r["state"] == "PENDING")
        return {r["state"]: r["n"] for r in found}, waiting

    async def mark_running(self, started: Sequence[tuple[str, int, datetime]]) -> set[tuple[str, int]]:
        """Mark attempts RUNNING (only the current attempt, only from ASSIGNED)."""
        async with translate():
            done = await self.pool.fetch(
                Q["mark_running"],
                [uuid.UUID(j) for j, _, _ in started],
                [a for _, a, _ in started],
                [t for _, _, t in started],
            )
        for r in done:
            if r["number"] == 1:
                _started(r["waited"])
        return {(str(r["job_id"]), r["number"]) for r in done}

    async def settle(
        self, ends: Sequence[AttemptEnd], from_states: Sequence[v1.JobState], decide: Decider
    ) -> list[Settled]:
        """Record how attempts ended and move their jobs on, as ``decide`` says from each
        job's row, read and locked first.

        Only the job's current attempt in one of ``from_states`` is touched: a report
        from a stale attempt changes nothing (and is not in the result).
        """
        by_key = {(e.job_id, e.attempt): e for e in ends}
        async with translate(), self.pool.acquire() as conn, conn.transaction():
            locked = await conn.fetch(
                Q["lock_active_attempts"],
                [uuid.UUID(e.job_id) for e in ends],
                [e.attempt for e in ends],
                [s.name for s in from_states],
            )
            decided = []
            for r in locked:
                row = ActiveRow(
                    str(r["id"]), r["attempt"], v1.JobState[r["state"]], r["failures"],
                    r["max_retries"], r["retry_backoff_seconds"], r["cancel_reason"],
                )  # fmt: skip
                end = by_key[(row.job_id, row.attempt)]
                if end.fence is None or end.fence == r["session_id"]:
                    decided.append((end, decide(row, end)))
            return await _settle(conn, decided, from_states)

    async def settle_decided(
        self, decided: Sequence[tuple[AttemptEnd, Decision]], from_states: Sequence[v1.JobState]
    ) -> list[Settled]:
        """Record how attempts ended whose jobs' next states do not depend on their rows (a
        success, a cancel carried out), reported by the stream that holds them (no fence): one
        statement, no lock taken first; a job no longer at that attempt in ``from_states`` is
        left alone, as ``settle`` leaves it."""
        async with translate():
            return await _settle(self.pool, decided, from_states)

    async def cancel_pending(self, job_id: str, reason: str) -> v1.Job | None:
        async with translate():
            row = await self.pool.fetchrow(Q["cancel_pending_job"], _uuid(job_id), reason)
        return rows.job(row) if row else None

    async def retry_finished(
        self, job_id: str, reason: str, finished: Collection[v1.JobState]
    ) -> v1.Job | None:
        """Queue a job in one of the ``finished`` states again (None if it is in none of them);
        attempts and log stay."""
        async with translate():
            row = await self.pool.fetchrow(
                Q["retry_finished_job"], _uuid(job_id), reason, [s.name for s in finished]
            )
            if row is None:
                return None
            attempts = await self.pool.fetch(Q["get_attempts"], [row["id"]])
        return rows.job(row, attempts)

    async def cancels_of(self, daemon_id: str, held: Collection[v1.JobState]) -> list[CancelAsked]:
        """The attempts the streams of daemon ``daemon_id`` hold (the job in one of the ``held``
        states) that a cancel was asked for."""
        async with translate():
            found = await self.pool.fetch(Q["cancels_of_daemon"], daemon_id, [s.name for s in held])
        return [
            CancelAsked(str(r["id"]), r["attempt"], r["cancel_reason"], r["kill_grace_seconds"])
            for r in found
        ]

    async def request_cancel(self, job_id: str, reason: str, held: Collection[v1.JobState]) -> v1.Job | None:
        """Record a cancel for a job a worker holds, in one of the ``held`` states (None if it
        is in none of them now)."""
        async with translate():
            row = await self.pool.fetchrow(Q["request_cancel"], _uuid(job_id), reason, [s.name for s in held])
        return rows.job(row) if row else None


def _started(waited: float) -> None:
    """A first attempt started after waiting ``waited`` seconds to (counted once per job)."""
    # The worker's clock against the database's: a little skew is not a negative wait.
    START_LATENCY.observe(max(0.0, float(waited)))


async def _settle(
    db: asyncpg.Pool | asyncpg.Connection,
    decided: Sequence[tuple[AttemptEnd, Decision]],
    from_states: Sequence[v1.JobState],
) -> list[Settled]:
    """settle_jobs for the ``decided`` ends, in job id order (the order rows are locked in)."""
    if not decided:
        return []
    ordered = sorted(decided, key=lambda d: (d[0].job_id, d[0].attempt))
    columns = list(zip(*(
        (uuid.UUID(end.job_id), end.attempt, state.name, end.exit_code, end.signal, reason,
         end.started_at, end.finished_at, add, delay, *_usage_columns(end.usage), end.outcome.name)
        for end, (state, add, delay, reason) in ordered
    ), strict=True))  # fmt: skip
    settled = await db.fetch(Q["settle_jobs"], *columns, [s.name for s in from_states])
    for r in settled:
        if r["waited"] is not None:
            _started(r["waited"])
    return [Settled(str(r["id"]), r["attempt"], v1.JobState[r["state"]], r["waited_on"]) for r in settled]
