"""Schedules on a real PostgreSQL: each planned run fires once however many daemons race for
it, a daemon that was down catches up with at most one run, overlap policies, and the
ScheduleService's refusals."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
from grpclib.const import Status
from grpclib.exceptions import GRPCError

from hodei_api import v1
from hodeid.control.daemon import Daemon
from hodeid.control.schedules import Schedules
from hodeid.domain.validation import SpecLimits
from hodeid.store import db
from hodeid.store.schedules import ScheduleStore

RUNS = 20


async def _nothing(job_id: str, reason: str) -> None:
    raise AssertionError(f"no run should be cancelled here ({job_id}: {reason})")


def _schedules(pool: asyncpg.Pool) -> Schedules:
    """What one daemon fires with; never leading, so its loop (not started) would not look."""
    return Schedules(ScheduleStore(pool), SpecLimits(), lambda: False, _nothing, lambda: None)


def _spec(name: str, **fields: object) -> v1.ScheduleSpec:
    fields.setdefault("every_seconds", 3600.0)
    return v1.ScheduleSpec(name=name, job=v1.JobSpec(command=["echo", "tick"]), **fields)  # type: ignore[arg-type]


@pytest.fixture
async def pools(database_url: str) -> AsyncIterator[tuple[asyncpg.Pool, asyncpg.Pool]]:
    """Two pools of their own: two daemons' store clients."""
    first = await db.connect(database_url, min_size=1, max_size=4)
    second = await db.connect(database_url, min_size=1, max_size=4)
    yield first, second
    await first.close()
    await second.close()


async def _make_due(pool: asyncpg.Pool, name: str, seconds_ago: float = 0.0) -> None:
    await pool.execute(
        "UPDATE schedules SET next_run = now() - make_interval(secs => $2) WHERE name = $1", name, seconds_ago
    )


async def _runs(pool: asyncpg.Pool, name: str) -> list[asyncpg.Record]:
    found: list[asyncpg.Record] = await pool.fetch(
        "SELECT id, planned_at, idempotency_key FROM jobs WHERE schedule = $1", name
    )
    return found


async def _fired(daemon: Daemon, name: str, runs: int) -> v1.Job:
    """Make the schedule due; the daemon (the leader) fires it: its ``runs``-th run's job."""
    await _make_due(daemon.pool, name)
    async with asyncio.timeout(10):
        while len(found := await _runs(daemon.pool, name)) < runs:
            await asyncio.sleep(0.02)
    latest = max(found, key=lambda r: r["planned_at"])
    return await daemon.get(str(latest["id"]))


async def test_two_store_clients_racing_fire_each_planned_run_once(
    pools: tuple[asyncpg.Pool, asyncpg.Pool],
) -> None:
    first, second = _schedules(pools[0]), _schedules(pools[1])
    await first.create(_spec("race", overlap=v1.OverlapPolicy.ALLOW))
    fired_by = []
    for _ in range(RUNS):
        await _make_due(pools[0], "race")
        # Both look at once, each several times, as two leaders in a split moment would.
        results = await asyncio.gather(*(daemon.fire() for daemon in (first, second) for _ in range(3)))
        fired_by.append(sum(1 for fired in results for f in fired if f.job is not None))
    runs = await _runs(pools[0], "race")
    assert fired_by == [1] * RUNS
    assert len(runs) == RUNS
    assert len({r["planned_at"] for r in runs}) == RUNS
    assert all(r["idempotency_key"].startswith("schedule:") for r in runs)


async def test_a_daemon_down_at_many_planned_times_catches_up_with_one_run(
    pools: tuple[asyncpg.Pool, asyncpg.Pool],
) -> None:
    schedules = _schedules(pools[0])
    await schedules.create(_spec("often", every_seconds=1.0, overlap=v1.OverlapPolicy.ALLOW))
    await schedules.create(
        _spec("strict", every_seconds=1.0, overlap=v1.OverlapPolicy.ALLOW, catch_up=v1.CatchUpPolicy.NONE)
    )
    for name in ("often", "strict"):
        await _make_due(pools[0], name, seconds_ago=60.0)  # 60 planned runs missed
    await asyncio.gather(schedules.fire(), _schedules(pools[1]).fire())
    assert len(await _runs(pools[0], "often")) == 1
    assert await _runs(pools[0], "strict") == []
    late = await pools[0].fetchval("SELECT count(*) FROM schedules WHERE next_run <= now()")
    assert late == 0


async def test_overlap_skip_waits_for_the_previous_run_to_end(
    pools: tuple[asyncpg.Pool, asyncpg.Pool],
) -> None:
    schedules = _schedules(pools[0])
    await schedules.create(_spec("one-at-a-time"))
    await schedules.create(_spec("piling", overlap=v1.OverlapPolicy.ALLOW))
    for _ in range(3):
        for name in ("one-at-a-time", "piling"):
            await _make_due(pools[0], name)
        await schedules.fire()
    # The first run's job is still PENDING: skip fired no other.
    assert len(await _runs(pools[0], "one-at-a-time")) == 1
    assert len(await _runs(pools[0], "piling")) == 3


async def test_cancel_previous_cancels_the_run_still_going(daemon: Daemon) -> None:
    await daemon.schedules.create(_spec("replace", overlap=v1.OverlapPolicy.CANCEL_PREVIOUS))
    first = await _fired(daemon, "replace", 1)
    second = await _fired(daemon, "replace", 2)
    assert (await daemon.get(first.id)).state is v1.JobState.CANCELLED
    assert "replaced by the next run of schedule replace" in (await daemon.get(first.id)).reason
    assert (await daemon.get(second.id)).state is v1.JobState.PENDING


async def test_a_run_records_its_schedule_and_planned_time(daemon: Daemon) -> None:
    created = await daemon.schedules.create(_spec("nightly"))
    planned = created.next_run
    job = await _fired(daemon, "nightly", 1)
    assert job.schedule == "nightly"
    assert job.spec is not None and job.spec.name == "nightly"
    assert job.planned_at is not None and planned is not None and job.planned_at < planned
    listed = await daemon.schedules.get("nightly")
    assert listed.last_job_id == job.id
    assert listed.last_job_state is v1.JobState.PENDING
    manual = await daemon.schedules.run_now("nightly")
    assert manual.schedule == "nightly" and manual.planned_at is not None
    assert (await daemon.schedules.get("nightly")).last_job_id == manual.id


async def test_paused_schedules_fire_nothing_and_resume_after_now(daemon: Daemon) -> None:
    await daemon.schedules.create(_spec("held"))
    paused = await daemon.schedules.pause("held")
    assert paused.paused and paused.next_run is None
    await _make_due(daemon.pool, "held", seconds_ago=10.0)
    await daemon.schedules.fire()
    assert await _runs(daemon.pool, "held") == []
    resumed = await daemon.schedules.resume("held")
    assert not resumed.paused
    assert resumed.next_run is not None and resumed.next_run > await daemon.schedules.store.now()


@pytest.mark.parametrize(
    ("spec", "status", "words"),
    [
        (_spec("bad-cron", every_seconds=0.0, cron="61 * * * *"), Status.INVALID_ARGUMENT, "five fields"),
        (_spec("six", every_seconds=0.0, cron="0 0 * * * *"), Status.INVALID_ARGUMENT, "five fields"),
        (
            _spec("tz", every_seconds=0.0, cron="0 3 * * *", timezone="Mars/Olympus"),
            Status.INVALID_ARGUMENT,
            "IANA name such as Europe/Madrid",
        ),
        (_spec("zero", every_seconds=0.0), Status.INVALID_ARGUMENT, "every 10m"),
        (_spec("negative", every_seconds=-5.0), Status.INVALID_ARGUMENT, "positive duration"),
        (_spec("", every_seconds=60.0), Status.INVALID_ARGUMENT, "e.g. nightly-backup"),
        (
            v1.ScheduleSpec(
                name="waits",
                every_seconds=60.0,
                job=v1.JobSpec(command=["true"], after=["00000000-0000-4000-8000-000000000000"]),
            ),
            Status.INVALID_ARGUMENT,
            "leave the job's after and after_any empty",
        ),
    ],
)
async def test_bad_schedules_are_refused_saying_what_to_write(
    channel: object, spec: v1.ScheduleSpec, status: Status, words: str
) -> None:
    stub = v1.ScheduleServiceStub(channel)  # type: ignore[arg-type]
    with pytest.raises(GRPCError) as refused:
        await stub.create_schedule(v1.CreateScheduleRequest(spec=spec))
    assert refused.value.status is status
    assert words in (refused.value.message or "")


async def test_duplicate_and_unknown_names_are_refused(channel: object) -> None:
    stub = v1.ScheduleServiceStub(channel)  # type: ignore[arg-type]
    await stub.create_schedule(v1.CreateScheduleRequest(spec=_spec("twice")))
    with pytest.raises(GRPCError) as twice:
        await stub.create_schedule(v1.CreateScheduleRequest(spec=_spec("twice")))
    assert twice.value.status is Status.ALREADY_EXISTS
    assert "hodei schedule delete twice" in (twice.value.message or "")
    for call in (
        stub.delete_schedule(v1.DeleteScheduleRequest(name="nope")),
        stub.pause_schedule(v1.PauseScheduleRequest(name="nope")),
        stub.resume_schedule(v1.ResumeScheduleRequest(name="nope")),
        stub.get_schedule(v1.GetScheduleRequest(name="nope")),
        stub.run_schedule(v1.RunScheduleRequest(name="nope")),
    ):
        with pytest.raises(GRPCError) as unknown:
            await call
        assert unknown.value.status is Status.NOT_FOUND
        assert "hodei schedule list" in (unknown.value.message or "")
