"""Schedules: creating and changing them, and the leader's loop that fires their due runs.

Any daemon may fire (the store's transaction makes each planned run fire once); only the
leader looks, so that the others do not poll the database for nothing."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime

from hodei_api import v1
from hodeid.domain.classes import class_of
from hodeid.domain.states import TERMINAL
from hodeid.domain.timetables import Action, CatchUp, Overlap, Timetable, decide, next_run, timetable
from hodeid.domain.validation import SpecLimits, validate
from hodeid.errors import HodeiError, InvalidRequest, StoreError
from hodeid.store.schedules import Advance, Fired, ScheduleRecord, ScheduleStore

log = logging.getLogger(__name__)

# Due schedules fired per transaction.
FIRE_BATCH = 100
# The longest the loop sleeps between looks: a schedule created on another daemon, or a lead
# just taken, is seen within this.
LOOK_EVERY = 1.0
MAX_NAME = 200

OVERLAPS = {
    v1.OverlapPolicy.UNSPECIFIED: Overlap.SKIP,
    v1.OverlapPolicy.SKIP: Overlap.SKIP,
    v1.OverlapPolicy.ALLOW: Overlap.ALLOW,
    v1.OverlapPolicy.CANCEL_PREVIOUS: Overlap.CANCEL_PREVIOUS,
}
CATCH_UPS = {
    v1.CatchUpPolicy.UNSPECIFIED: CatchUp.ONE,
    v1.CatchUpPolicy.ONE: CatchUp.ONE,
    v1.CatchUpPolicy.NONE: CatchUp.NONE,
}

# (job id, reason) -> the cancel; its failure is logged
Cancel = Callable[[str, str], Awaitable[object]]


def table_of(record: ScheduleRecord) -> Timetable:
    return Timetable(record.cron, record.timezone, record.every_seconds, record.created_at)


def run_key(record: ScheduleRecord, planned: datetime) -> str:
    """The idempotency key of the run planned for ``planned``: the same on every daemon."""
    return f"schedule:{record.id}:{planned.isoformat()}"


def to_proto(record: ScheduleRecord) -> v1.Schedule:
    return v1.Schedule(
        spec=v1.ScheduleSpec(
            name=record.name,
            cron=record.cron,
            timezone=record.timezone,
            every_seconds=record.every_seconds,
            overlap=v1.OverlapPolicy[record.overlap],
            catch_up=v1.CatchUpPolicy[record.catch_up],
            job=record.job,
        ),
        paused=record.paused,
        created_at=record.created_at,
        next_run=None if record.paused else record.next_run,
        last_job_id=record.last_job_id or "",
        last_job_state=record.last_state or v1.JobState.UNSPECIFIED,
        last_planned=record.last_planned,
    )


def _check_name(name: str) -> None:
    if not name or len(name) > MAX_NAME or not name.isprintable() or name != name.strip():
        raise InvalidRequest(
            f"schedule name {name!r} is not valid: give 1 to {MAX_NAME} printable characters, "
            "without leading or trailing spaces, e.g. nightly-backup"
        )


def _job_spec(spec: v1.ScheduleSpec, limits: SpecLimits) -> v1.JobSpec:
    if spec.job is None:
        raise InvalidRequest("the schedule has no job; give the command to run, e.g. -- echo tick")
    if spec.job.name and spec.job.name != spec.name:
        raise InvalidRequest("a schedule's runs are named after the schedule; leave the job's name empty")
    if spec.job.idempotency_key:
        raise InvalidRequest(
            "a schedule's runs get their idempotency key from the schedule and the planned time; "
            "leave the job's key empty"
        )
    if spec.job.after or spec.job.after_any:
        raise InvalidRequest(
            "a schedule's runs cannot wait on other jobs (every run would wait on the same ones); "
            "leave the job's after and after_any empty"
        )
    return validate(replace(spec.job, name=spec.name), limits)


class Schedules:
    def __init__(
        self, store: ScheduleStore, limits: SpecLimits, leading: Callable[[], bool], cancel: Cancel,
        submitted: Callable[[], None],
    ) -> None:  # fmt: skip
        self.store = store
        self.limits = limits
        self.leading = leading
        self.cancel = cancel
        self.submitted = submitted
        """Called when runs were submitted (wakes the scheduler)."""
        self._wake = asyncio.Event()

    async def create(self, spec: v1.ScheduleSpec) -> v1.Schedule:
        """Check and store a schedule; its first run is the first planned time after now."""
        _check_name(spec.name)
        job = _job_spec(spec, self.limits)
        now = await self.store.now()
        table = timetable(spec.cron, spec.timezone, spec.every_seconds, now)
        record = await self.store.insert(
            spec.name, table.cron, table.timezone, table.every_seconds, OVERLAPS[spec.overlap].value,
            CATCH_UPS[spec.catch_up].value, job, class_of(job), now, next_run(table, now),
        )  # fmt: skip
        log.info("schedule %s created: %s", record.name, table.describe())
        self._wake.set()
        return to_proto(record)

    async def get(self, name: str) -> v1.Schedule:
        return to_proto(await self.store.get(name))

    async def every(self) -> list[v1.Schedule]:
        return [to_proto(r) for r in await self.store.every()]

    async def pause(self, name: str) -> v1.Schedule:
        await self.store.pause(name)
        return await self.get(name)

    async def resume(self, name: str) -> v1.Schedule:
        """Plan the next run after now: runs planned while paused are not fired."""
        await self.store.resume(name, lambda record, now: next_run(table_of(record), now))
        self._wake.set()
        return await self.get(name)

    async def delete(self, name: str) -> None:
        await self.store.delete(name)
        log.info("schedule %s deleted", name)

    async def run_now(self, name: str) -> v1.Job:
        job = await self.store.run_now(name)
        self.submitted()
        return job

    async def run(self) -> None:
        """While this daemon leads, fire due runs as they come due."""
        while True:
            wait = LOOK_EVERY
            # Cleared before looking: a schedule created while this daemon fires is seen next.
            self._wake.clear()
            if self.leading():
                try:
                    await self.fire()
                    due_in = await self.store.next_due_in()
                    if due_in is not None:
                        wait = min(LOOK_EVERY, max(0.0, due_in))
                except StoreError as exc:
                    log.warning("cannot fire due schedules now: %s", exc.message)
            try:
                async with asyncio.timeout(wait):
                    await self._wake.wait()
            except TimeoutError:
                pass

    async def fire(self) -> list[Fired]:
        """Fire every due run once; cancel the previous runs that ``cancel-previous`` replaces."""
        fired: list[Fired] = []
        while batch := await self.store.fire_due(FIRE_BATCH, _advance):
            fired.extend(batch)
            if len(batch) < FIRE_BATCH:
                break
        for f in fired:
            await self._tell(f)
        if any(f.job is not None for f in fired):
            self.submitted()
        return fired

    async def _tell(self, fired: Fired) -> None:
        record, job = fired.schedule, fired.job
        if job is None:
            log.info(
                "schedule %s: run planned for %s not fired (%s)",
                record.name, fired.advance.planned.isoformat(), _skip_reason(fired),
            )  # fmt: skip
            return
        log.debug(
            "schedule %s: job %s submitted for %s", record.name, job.id, fired.advance.planned.isoformat(),
            extra={"job_id": job.id},
        )  # fmt: skip
        previous = record.last_job_id
        if previous and record.overlap == Overlap.CANCEL_PREVIOUS.value and not _ended(record):
            reason = f"replaced by the next run of schedule {record.name} (--overlap cancel-previous)"
            try:
                await self.cancel(previous, reason)
            except HodeiError as exc:
                log.info("could not cancel job %s: %s", previous, exc.message, extra={"job_id": previous})


def _ended(record: ScheduleRecord) -> bool:
    return record.last_state is None or record.last_state in TERMINAL


def _skip_reason(fired: Fired) -> str:
    if fired.advance.job is not None:
        return "fired already"
    return "the previous run has not ended" if not _ended(fired.schedule) else "missed"


def _advance(record: ScheduleRecord, now: datetime) -> Advance:
    """The firing decision for a due schedule, as the store's transaction asks for it."""
    due = decide(
        table_of(record), record.next_run, now, Overlap(record.overlap), CatchUp(record.catch_up),
        previous_running=not _ended(record),
    )  # fmt: skip
    if due.action in (Action.SKIP_OVERLAP, Action.SKIP_MISSED):
        return Advance(due.next_run, due.planned)
    return Advance(due.next_run, due.planned, record.job, run_key(record, due.planned))
