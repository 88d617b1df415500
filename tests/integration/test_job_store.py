"""JobStore on real PostgreSQL: guarded transitions, claims, settlement and fencing."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import UTC, datetime

import asyncpg
import pytest

from hodei_api import v1
from hodeid.control.settle import decide
from hodeid.domain.classes import class_of
from hodeid.domain.states import ACTIVE
from hodeid.errors import NotFound
from hodeid.store.jobs import AttemptEnd, JobStore, PendingJob

# Every worker's stream, for claims made outside a daemon.
ANY_STREAM: defaultdict[str, str] = defaultdict(lambda: "stream")


def spec(*command: str, **kw: object) -> v1.JobSpec:
    return v1.JobSpec(name="t", command=list(command) or ["true"], **kw)  # type: ignore[arg-type]


async def insert(jobs: JobStore, s: v1.JobSpec) -> tuple[v1.Job, bool]:
    return await jobs.insert(s, placement_class=class_of(s))


def take_all(worker: str) -> object:
    def placer(pending: list[PendingJob]) -> list[tuple[str, str]]:
        return [(p.id, worker) for p in pending]

    return placer


async def test_insert_get_and_list_newest_first(pool: asyncpg.Pool) -> None:
    jobs = JobStore(pool)
    first, _ = await insert(jobs, spec("echo", "1"))
    second, _ = await insert(jobs, spec("echo", "2"))
    got = await jobs.get(first.id)
    assert got.state is v1.JobState.PENDING and got.spec and got.spec.command == ["echo", "1"]
    listed = await jobs.page([], 10, None)
    assert [j.id for j in listed] == [second.id, first.id]
    assert await jobs.page([v1.JobState.SUCCEEDED], 10, None) == []


async def test_idempotency_key_returns_the_first_job(pool: asyncpg.Pool) -> None:
    jobs = JobStore(pool)
    a, existing_a = await insert(jobs, spec("true", idempotency_key="k1"))
    b, existing_b = await insert(jobs, spec("false", idempotency_key="k1"))
    assert (existing_a, existing_b) == (False, True)
    assert a.id == b.id and b.spec and b.spec.command == ["true"]


async def test_unknown_and_malformed_ids_are_not_found(pool: asyncpg.Pool) -> None:
    jobs = JobStore(pool)
    with pytest.raises(NotFound, match="not found"):
        await jobs.get("5d8f2f6e-0000-4000-8000-000000000000")
    with pytest.raises(NotFound, match="UUID"):
        await jobs.get("nope")


async def test_claim_orders_by_priority_then_age_and_assigns_attempt_one(pool: asyncpg.Pool) -> None:
    jobs = JobStore(pool)
    low, _ = await insert(jobs, spec("low"))
    high, _ = await insert(jobs, spec("high", priority=9))
    seen: list[str] = []

    def placer(pending: list[PendingJob]) -> list[tuple[str, str]]:
        seen.extend(p.id for p in pending)
        return [(pending[0].id, "w1")]

    claimed = await jobs.claim(10, placer, ANY_STREAM, "d")
    assert seen == [high.id, low.id]
    assert [(a.job.id, a.job.attempt, a.job.worker_id, a.first_seq) for a in claimed] == [
        (high.id, 1, "w1", 1)
    ]
    assert (await jobs.get(high.id)).state is v1.JobState.ASSIGNED
    assert (await jobs.get(low.id)).state is v1.JobState.PENDING


async def test_claim_skips_the_classes_asked_and_keeps_priority_order_across_the_others(
    pool: asyncpg.Pool,
) -> None:
    jobs = JobStore(pool)
    gpu = [(await insert(jobs, spec(selector=["gpu=true"], priority=5)))[0].id for _ in range(300)]
    big = (await insert(jobs, spec(priority=3, resources=v1.Resources(cpu=2.0))))[0].id
    plain = [(await insert(jobs, spec(priority=p)))[0].id for p in (1, 4, 1)]
    seen: list[list[str]] = []

    def look(pending: list[PendingJob]) -> list[tuple[str, str]]:
        seen.append([p.id for p in pending])
        return []

    await jobs.claim(16, look, ANY_STREAM, "d")
    assert seen[-1] == gpu[:16], "unskipped, the gpu jobs come first, oldest first"
    await jobs.claim(16, look, ANY_STREAM, "d", skip=[class_of(spec(selector=["gpu=true"]))])
    assert seen[-1] == [plain[1], big, plain[0], plain[2]]
    await jobs.claim(2, look, ANY_STREAM, "d", skip=[class_of(spec(selector=["gpu=true"]))])
    assert seen[-1] == [plain[1], big]


async def test_concurrent_claims_never_assign_a_job_twice(pool: asyncpg.Pool) -> None:
    jobs = JobStore(pool)
    for _ in range(40):
        await insert(jobs, spec("true"))
    results = await asyncio.gather(*(jobs.claim(15, take_all(f"w{i}"), ANY_STREAM, "d") for i in range(4)))  # type: ignore[arg-type]
    ids = [a.job.id for batch in results for a in batch]
    assert len(ids) == len(set(ids)) == 40


async def test_running_then_finished_and_a_stale_attempt_changes_nothing(pool: asyncpg.Pool) -> None:
    jobs = JobStore(pool)
    job, _ = await insert(jobs, spec("true"))
    await jobs.claim(1, take_all("w1"), ANY_STREAM, "d")  # type: ignore[arg-type]
    now = datetime.now(UTC)
    assert await jobs.mark_running([(job.id, 1, now)]) == {(job.id, 1)}
    stale = AttemptEnd(job.id, 2, v1.AttemptOutcome.SUCCEEDED, exit_code=0, finished_at=now)
    assert await jobs.settle([stale], sorted(ACTIVE), decide) == []
    end = AttemptEnd(job.id, 1, v1.AttemptOutcome.FAILED, exit_code=3, reason="exit 3", finished_at=now)
    settled = await jobs.settle([end], sorted(ACTIVE), decide)
    assert [(s.job_id, s.attempt, s.state) for s in settled] == [(job.id, 1, v1.JobState.FAILED)]
    got = await jobs.get(job.id)
    assert (got.exit_code, got.reason, got.finished_at is not None) == (3, "exit 3", True)
    assert [(a.number, a.outcome, a.exit_code) for a in got.attempts] == [(1, v1.AttemptOutcome.FAILED, 3)]
    # A late duplicate report of the same attempt does not move a finished job.
    assert await jobs.settle([end], sorted(ACTIVE), decide) == []


async def test_a_result_while_assigned_is_accepted(pool: asyncpg.Pool) -> None:
    jobs = JobStore(pool)
    job, _ = await insert(jobs, spec("true"))
    await jobs.claim(1, take_all("w1"), ANY_STREAM, "d")  # type: ignore[arg-type]
    end = AttemptEnd(job.id, 1, v1.AttemptOutcome.SUCCEEDED, exit_code=0, finished_at=datetime.now(UTC))
    assert [s.state for s in await jobs.settle([end], sorted(ACTIVE), decide)] == [v1.JobState.SUCCEEDED]


async def test_failed_attempt_with_retries_goes_back_to_pending_and_counts(pool: asyncpg.Pool) -> None:
    jobs = JobStore(pool)
    job, _ = await insert(jobs, spec("false", max_retries=1))
    await jobs.claim(1, take_all("w1"), ANY_STREAM, "d")  # type: ignore[arg-type]
    end = AttemptEnd(job.id, 1, v1.AttemptOutcome.FAILED, exit_code=1, finished_at=datetime.now(UTC))
    assert [s.state for s in await jobs.settle([end], sorted(ACTIVE), decide)] == [v1.JobState.PENDING]
    again = await jobs.claim(1, take_all("w2"), ANY_STREAM, "d")  # type: ignore[arg-type]
    assert [(a.job.attempt, a.job.worker_id) for a in again] == [(2, "w2")]
    end2 = AttemptEnd(job.id, 2, v1.AttemptOutcome.FAILED, exit_code=1, finished_at=datetime.now(UTC))
    assert [s.state for s in await jobs.settle([end2], sorted(ACTIVE), decide)] == [v1.JobState.FAILED]
    assert "no retries left" in (await jobs.get(job.id)).reason


async def test_cancel_pending_only(pool: asyncpg.Pool) -> None:
    jobs = JobStore(pool)
    job, _ = await insert(jobs, spec("true"))
    cancelled = await jobs.cancel_pending(job.id, "because")
    assert cancelled is not None and cancelled.state is v1.JobState.CANCELLED
    assert await jobs.cancel_pending(job.id, "again") is None
