"""What attempts used, on real PostgreSQL: stored per attempt, totalled per job, counted once
in the Prometheus counters, and served by GetJob and ListJobs."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from hodei_api import v1
from hodeid.control.settle import decide
from hodeid.domain.states import ACTIVE
from hodeid.metrics import REGISTRY
from hodeid.store.jobs import AttemptEnd, JobStore
from tests.integration.test_job_store import ANY_STREAM, insert, spec, take_all
from tests.support.scripted_worker import ScriptedWorker, acknowledged, submit, wait_state

FIRST = v1.Usage(cpu_user_seconds=1.5, cpu_system_seconds=0.25, max_rss_bytes=300 << 20, wall_seconds=4.0)
SECOND = v1.Usage(cpu_user_seconds=0.5, cpu_system_seconds=0.5, max_rss_bytes=100 << 20, wall_seconds=2.5)


async def _claim(jobs: JobStore) -> None:
    await jobs.claim(1, take_all("w1"), ANY_STREAM, "d")  # type: ignore[arg-type]


async def test_each_attempts_usage_is_kept_and_the_job_totals_them(pool: asyncpg.Pool) -> None:
    jobs = JobStore(pool)
    job, _ = await insert(jobs, spec("hog", max_retries=2))
    now = datetime.now(UTC)
    await _claim(jobs)
    failed = AttemptEnd(job.id, 1, v1.AttemptOutcome.FAILED, exit_code=1, finished_at=now, usage=FIRST)
    assert [s.state for s in await jobs.settle([failed], sorted(ACTIVE), decide)] == [v1.JobState.PENDING]
    await _claim(jobs)
    lost = AttemptEnd(job.id, 2, v1.AttemptOutcome.LOST, reason="stream lost")
    await jobs.settle([lost], sorted(ACTIVE), decide)
    await _claim(jobs)
    done = AttemptEnd(job.id, 3, v1.AttemptOutcome.SUCCEEDED, exit_code=0, finished_at=now, usage=SECOND)
    assert [s.state for s in await jobs.settle([done], sorted(ACTIVE), decide)] == [v1.JobState.SUCCEEDED]
    # Sent again (a worker that reconnected): fenced out, nothing is added twice.
    assert await jobs.settle([done], sorted(ACTIVE), decide) == []

    got = await jobs.get(job.id)
    assert [a.usage for a in got.attempts] == [FIRST, None, SECOND]
    totals = v1.Usage(
        cpu_user_seconds=2.0, cpu_system_seconds=0.75, max_rss_bytes=300 << 20, wall_seconds=6.5
    )
    assert got.usage == totals
    [listed] = await jobs.page([], 10, None)
    assert listed.usage == totals


async def test_a_job_no_attempt_reported_for_has_none(pool: asyncpg.Pool) -> None:
    jobs = JobStore(pool)
    job, _ = await insert(jobs, spec("true"))
    assert (await jobs.get(job.id)).usage is None
    await _claim(jobs)
    await jobs.settle([AttemptEnd(job.id, 1, v1.AttemptOutcome.LOST)], sorted(ACTIVE), decide)
    got = await jobs.get(job.id)
    assert (got.usage, got.attempts[0].usage) == (None, None)


def _counted(name: str, outcome: str) -> float:
    return REGISTRY.get_sample_value(name, {"outcome": outcome}) or 0.0


async def test_a_workers_report_reaches_get_job_and_the_counters_once(channel: object) -> None:
    names = (
        "hodei_attempts_measured_total",
        "hodei_attempt_cpu_user_seconds_total",
        "hodei_attempt_cpu_system_seconds_total",
        "hodei_attempt_max_rss_bytes_total",
        "hodei_attempt_wall_seconds_total",
    )
    before = {name: _counted(name, "SUCCEEDED") for name in names}
    job = await submit(channel, "hog")
    worker = ScriptedWorker(v1.WorkerServiceStub(channel), "w1")  # type: ignore[arg-type]
    await worker.next("run_job")
    finished = v1.Finished(
        job_id=job.id, attempt=1, outcome=v1.AttemptOutcome.SUCCEEDED, exit_code=0, usage=FIRST
    )
    worker.send(accepted=v1.Accepted(job_id=job.id, attempt=1, pid=1, started_at=datetime.now(UTC)))
    worker.send(finished=finished)
    done = await wait_state(channel, job.id, v1.JobState.SUCCEEDED)
    assert done.usage == FIRST
    assert [a.usage for a in done.attempts] == [FIRST]
    worker.send(finished=finished)  # again, as after a reconnect: stale, counted once
    await acknowledged(worker, 3)
    added = {name: _counted(name, "SUCCEEDED") - before[name] for name in names}
    assert added == {
        "hodei_attempts_measured_total": 1,
        "hodei_attempt_cpu_user_seconds_total": 1.5,
        "hodei_attempt_cpu_system_seconds_total": 0.25,
        "hodei_attempt_max_rss_bytes_total": 300 << 20,
        "hodei_attempt_wall_seconds_total": 4.0,
    }
    worker.close()
