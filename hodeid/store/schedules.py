"""Schedules in PostgreSQL, and the transaction that fires their due runs: it locks the due
schedules (skipping those another daemon is firing), inserts each run's job under a key made of
the schedule and the planned time, and moves the next run on, all at once, so each planned run
fires once however many daemons look."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from hodei_api import v1
from hodeid.errors import AlreadyExists, NotFound
from hodeid.store import rows
from hodeid.store.db import translate
from hodeid.store.queries import Q


@dataclass(frozen=True)
class ScheduleRecord:
    """A schedule's row, and the state of its latest run's job (None before the first)."""

    id: str
    name: str
    cron: str
    timezone: str
    every_seconds: float
    overlap: str
    catch_up: str
    job: v1.JobSpec
    placement_class: str
    paused: bool
    created_at: datetime
    next_run: datetime
    last_job_id: str | None
    last_planned: datetime | None
    last_state: v1.JobState | None


@dataclass(frozen=True)
class Advance:
    """What firing does with a due schedule: plan its next run for ``next_run`` and, with a
    ``job``, submit it as the run planned for ``planned`` (idempotency key ``key``)."""

    next_run: datetime
    planned: datetime
    job: v1.JobSpec | None = None
    key: str = ""


@dataclass(frozen=True)
class Fired:
    schedule: ScheduleRecord
    advance: Advance
    job: v1.Job | None
    """The run's job; None when none was submitted (skipped, or fired already)."""


# (schedule, the database's now) -> what to do with it
Decider = Callable[[ScheduleRecord, datetime], Advance]


def _record(r: Mapping[str, Any]) -> ScheduleRecord:
    return ScheduleRecord(
        id=str(r["id"]),
        name=r["name"],
        cron=r["cron"],
        timezone=r["timezone"],
        every_seconds=r["every_seconds"],
        overlap=r["overlap"],
        catch_up=r["catch_up"],
        job=v1.JobSpec.parse(r["job_spec"]),
        placement_class=r["placement_class"],
        paused=r["paused"],
        created_at=r["created_at"],
        next_run=r["next_run"],
        last_job_id=str(r["last_job_id"]) if r["last_job_id"] else None,
        last_planned=r["last_planned"],
        last_state=v1.JobState[r["last_state"]] if r["last_state"] else None,
    )


def _unjoined(row: asyncpg.Record) -> ScheduleRecord:
    """A schedule's own row, without its latest run's state."""
    return _record({**dict(row.items()), "last_state": None})


def _job_args(
    job_id: uuid.UUID, spec: v1.JobSpec, key: str | None, klass: str, planned: datetime
) -> tuple[object, ...]:
    resources = spec.resources or v1.Resources()
    return (
        job_id, spec.name, spec.command, spec.env, spec.cwd, spec.selector, resources.cpu,
        resources.memory_mb, spec.priority, spec.timeout_seconds, spec.max_retries,
        spec.retry_backoff_seconds, spec.kill_grace_seconds, key, klass, planned,
    )  # fmt: skip


class ScheduleStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def now(self) -> datetime:
        """The database's clock, which every daemon sharing it goes by."""
        async with translate():
            value: datetime = await self.pool.fetchval(Q["database_now"])
        return value

    async def insert(
        self,
        name: str,
        cron: str,
        timezone: str,
        every_seconds: float,
        overlap: str,
        catch_up: str,
        job: v1.JobSpec,
        placement_class: str,
        created_at: datetime,
        next_run: datetime,
    ) -> ScheduleRecord:
        """Store a new schedule; AlreadyExists if the name is taken."""
        async with translate():
            row = await self.pool.fetchrow(
                Q["insert_schedule"], uuid.uuid4(), name, cron, timezone, every_seconds, overlap,
                catch_up, bytes(job), placement_class, created_at, next_run,
            )  # fmt: skip
        if row is None:
            raise AlreadyExists(
                f"a schedule named {name!r} exists already; choose another name, or delete it first "
                f"(hodei schedule delete {name})"
            )
        return _record(row)

    async def get(self, name: str) -> ScheduleRecord:
        async with translate():
            row = await self.pool.fetchrow(Q["get_schedule"], name)
        if row is None:
            raise _not_found(name)
        return _record(row)

    async def every(self) -> list[ScheduleRecord]:
        """Every schedule, by name."""
        async with translate():
            found = await self.pool.fetch(Q["list_schedules"])
        return [_record(r) for r in found]

    async def pause(self, name: str) -> None:
        """Fire none of its runs until it is resumed."""
        async with translate():
            found = await self.pool.fetchval(Q["set_schedule_paused"], name, True, None)
        if found is None:
            raise _not_found(name)

    async def resume(self, name: str, next_run: Callable[[ScheduleRecord, datetime], datetime]) -> None:
        """Fire its runs again; a paused schedule plans its next run by ``next_run(schedule,
        now)``, so the runs planned while it was paused are not fired."""
        async with translate(), self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(Q["lock_schedule"], name)
            if row is None:
                raise _not_found(name)
            now = await conn.fetchval(Q["database_now"])
            planned = next_run(_unjoined(row), now) if row["paused"] else None
            await conn.execute(Q["set_schedule_paused"], name, False, planned)

    async def delete(self, name: str) -> None:
        async with translate():
            found = await self.pool.fetchval(Q["delete_schedule"], name)
        if found is None:
            raise _not_found(name)

    async def run_now(self, name: str) -> v1.Job:
        """Submit one run of the schedule now, planned for now; its timetable is left alone."""
        async with translate(), self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(Q["lock_schedule"], name)
            if row is None:
                raise _not_found(name)
            now = await conn.fetchval(Q["database_now"])
            record = _unjoined(row)
            job_id = uuid.uuid4()
            inserted = await conn.fetchrow(
                Q["insert_scheduled_job"], *_job_args(job_id, record.job, None, record.placement_class, now)
            )
            await conn.execute(Q["record_schedule_run"], row["id"], job_id, now)
        return rows.job(inserted)

    async def fire_due(self, limit: int, decide: Decider) -> list[Fired]:
        """Lock up to ``limit`` due schedules no other daemon is firing, and in the same
        transaction submit the job ``decide`` gives for each (if any) and plan its next run."""
        async with translate(), self.pool.acquire() as conn, conn.transaction():
            locked = await conn.fetch(Q["lock_due_schedules"], limit)
            if not locked:
                return []
            now = await conn.fetchval(Q["database_now"])
            fired: list[Fired] = []
            for r in locked:
                record = _record(r)
                advance = decide(record, now)
                job = None
                if advance.job is not None:
                    inserted = await conn.fetchrow(
                        Q["insert_scheduled_job"],
                        *_job_args(
                            uuid.uuid4(), advance.job, advance.key, record.placement_class, advance.planned
                        ),
                    )
                    job = rows.job(inserted) if inserted is not None else None
                fired.append(Fired(record, advance, job))
            await conn.execute(
                Q["advance_schedules"],
                [uuid.UUID(f.schedule.id) for f in fired],
                [f.advance.next_run for f in fired],
                [uuid.UUID(f.job.id) if f.job else None for f in fired],
                [f.advance.planned for f in fired],
            )
        return fired

    async def next_due_in(self) -> float | None:
        """Seconds until the earliest planned run (negative if one is due); None if none."""
        async with translate():
            seconds: float | None = await self.pool.fetchval(Q["next_due_in"])
        return seconds


def _not_found(name: str) -> NotFound:
    return NotFound(f"no schedule named {name!r} (see hodei schedule list)")
