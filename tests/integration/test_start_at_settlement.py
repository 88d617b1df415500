"""A job that ends at once is started by its settlement, on real PostgreSQL: its start time is
stored on the job and the attempt, and its wait to start is counted once, whether or not it was
marked RUNNING first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg

from hodei_api import v1
from hodeid.control.settle import decide
from hodeid.domain.states import ACTIVE
from hodeid.metrics import REGISTRY
from hodeid.store.jobs import AttemptEnd, JobStore
from tests.integration.test_job_store import ANY_STREAM, insert, spec, take_all


def _starts_counted() -> float:
    return REGISTRY.get_sample_value("hodei_job_start_latency_seconds_count") or 0.0


async def _assigned(jobs: JobStore) -> v1.Job:
    job, _ = await insert(jobs, spec("true"))
    await jobs.claim(1, take_all("w1"), ANY_STREAM, "d")  # type: ignore[arg-type]
    return job


async def test_an_attempt_that_ends_before_it_was_marked_running_starts_at_settlement(
    pool: asyncpg.Pool,
) -> None:
    jobs = JobStore(pool)
    job = await _assigned(jobs)
    started = datetime.now(UTC)
    before = _starts_counted()
    end = AttemptEnd(
        job.id, 1, v1.AttemptOutcome.SUCCEEDED, exit_code=0, started_at=started,
        finished_at=started + timedelta(milliseconds=2),
    )  # fmt: skip
    assert [s.state for s in await jobs.settle([end], sorted(ACTIVE), decide)] == [v1.JobState.SUCCEEDED]
    assert _starts_counted() == before + 1
    got = await jobs.get(job.id)
    assert got.started_at == started and got.attempts[0].started_at == started


async def test_an_attempt_marked_running_first_is_counted_once(pool: asyncpg.Pool) -> None:
    jobs = JobStore(pool)
    job = await _assigned(jobs)
    started = datetime.now(UTC)
    before = _starts_counted()
    await jobs.mark_running([(job.id, 1, started)])
    end = AttemptEnd(
        job.id, 1, v1.AttemptOutcome.SUCCEEDED, exit_code=0, started_at=started, finished_at=started
    )
    await jobs.settle([end], sorted(ACTIVE), decide)
    assert _starts_counted() == before + 1
    assert (await jobs.get(job.id)).started_at == started
