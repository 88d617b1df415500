"""Settling an end whose job state needs no look at the job's row (a success, a cancel carried
out), on real PostgreSQL, in one statement: the current attempt in an expected state is settled
with its job; anything else is left alone, attempt row included, as the locking path leaves it."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from hodei_api import v1
from hodeid.control.ledger import Ledger
from hodeid.control.loghub import LogHub
from hodeid.control.settle import Settler, decide
from hodeid.domain.states import ACTIVE
from hodeid.store.jobs import AttemptEnd, Decision, JobStore
from tests.integration.test_job_store import ANY_STREAM, insert, spec, take_all

SUCCEEDED = (v1.JobState.SUCCEEDED, 0, 0.0, "exited with code 0")


async def _assigned(jobs: JobStore, *command: str) -> v1.Job:
    job, _ = await insert(jobs, spec(*command))
    await jobs.claim(1, take_all("w1"), ANY_STREAM, "d")  # type: ignore[arg-type]
    return job


def _end(job: v1.Job, attempt: int = 1) -> AttemptEnd:
    now = datetime.now(UTC)
    return AttemptEnd(job.id, attempt, v1.AttemptOutcome.SUCCEEDED, exit_code=0,
                      reason="exited with code 0", started_at=now, finished_at=now)  # fmt: skip


async def test_the_current_attempt_is_settled_with_its_job(pool: asyncpg.Pool) -> None:
    jobs = JobStore(pool)
    job = await _assigned(jobs, "true")
    decided: list[tuple[AttemptEnd, Decision]] = [(_end(job), SUCCEEDED)]
    settled = await jobs.settle_decided(decided, sorted(ACTIVE))
    assert [(s.job_id, s.attempt, s.state) for s in settled] == [(job.id, 1, v1.JobState.SUCCEEDED)]
    got = await jobs.get(job.id)
    assert (got.state, got.exit_code, got.reason) == (v1.JobState.SUCCEEDED, 0, "exited with code 0")
    [attempt] = got.attempts
    assert (attempt.outcome, attempt.exit_code) == (v1.AttemptOutcome.SUCCEEDED, 0)


async def test_a_stale_or_settled_attempt_is_left_alone_attempt_row_included(pool: asyncpg.Pool) -> None:
    jobs = JobStore(pool)
    job = await _assigned(jobs, "true")
    lost = AttemptEnd(job.id, 1, v1.AttemptOutcome.LOST, reason="stream lost")
    assert [s.state for s in await jobs.settle([lost], sorted(ACTIVE), decide)] == [v1.JobState.FAILED]
    # The worker's success comes after the verdict: the job is no longer active.
    assert await jobs.settle_decided([(_end(job), SUCCEEDED)], sorted(ACTIVE)) == []
    got = await jobs.get(job.id)
    assert got.state is v1.JobState.FAILED
    assert got.attempts[0].outcome is v1.AttemptOutcome.LOST
    # An end of an attempt the job has left (a report of attempt 1 for attempt 2) changes nothing.
    retried, _ = await insert(jobs, spec("false", max_retries=1))
    await jobs.claim(1, take_all("w1"), ANY_STREAM, "d")  # type: ignore[arg-type]
    failed = AttemptEnd(retried.id, 1, v1.AttemptOutcome.FAILED, exit_code=1, reason="exited with code 1")
    assert [s.state for s in await jobs.settle([failed], sorted(ACTIVE), decide)] == [v1.JobState.PENDING]
    await jobs.claim(1, take_all("w1"), ANY_STREAM, "d")  # type: ignore[arg-type]
    assert await jobs.settle_decided([(_end(retried, 1), SUCCEEDED)], sorted(ACTIVE)) == []
    got = await jobs.get(retried.id)
    assert (got.state, got.attempt) == (v1.JobState.ASSIGNED, 2)
    assert [a.outcome for a in got.attempts] == [v1.AttemptOutcome.FAILED, v1.AttemptOutcome.ACTIVE]


async def test_the_settler_settles_a_success_without_the_locking_path_and_a_failure_with_it(
    pool: asyncpg.Pool,
) -> None:
    jobs = JobStore(pool)
    ok = await _assigned(jobs, "true")
    bad, _ = await insert(jobs, spec("false", max_retries=2))
    await jobs.claim(1, take_all("w1"), ANY_STREAM, "d")  # type: ignore[arg-type]
    failed = AttemptEnd(bad.id, 1, v1.AttemptOutcome.FAILED, exit_code=1, reason="exited with code 1")
    settler = Settler(jobs, LogHub(1 << 20, 1 << 24), Ledger(lambda worker_id: None))
    settled = await settler.end([_end(ok), failed])
    assert {(s.job_id, s.state) for s in settled} == {
        (ok.id, v1.JobState.SUCCEEDED),
        (bad.id, v1.JobState.PENDING),  # a retry: its row said it had retries left
    }
    assert "retry 1 of 2" in (await jobs.get(bad.id)).reason
