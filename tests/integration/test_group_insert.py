"""Submissions at the same moment are committed together (GroupInsert), each answered as if
it had been written alone: its own job, its own limit or idempotency answer, in its order."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from hodei_api import v1
from hodeid.domain.classes import class_of
from hodeid.errors import LimitExceeded
from hodeid.store.jobs import JobStore

LIMIT_MESSAGE = (
    "this token already has 3 PENDING jobs (limits.max_pending_per_submitter); "
    "wait for some to start or cancel some, then submit again"
)


def spec(name: str, **kw: object) -> v1.JobSpec:
    return v1.JobSpec(name=name, command=["echo", name], **kw)  # type: ignore[arg-type]


async def insert(jobs: JobStore, s: v1.JobSpec, by: str | None = None, limit: int | None = None) -> v1.Job:
    job, _ = await jobs.insert(s, by, limit, placement_class=class_of(s))
    return job


async def test_jobs_submitted_together_share_one_transaction_in_their_order(pool: asyncpg.Pool) -> None:
    jobs = JobStore(pool)
    submitted = await asyncio.gather(*(insert(jobs, spec(f"j{i}")) for i in range(20)))
    assert [j.spec.name for j in submitted if j.spec] == [f"j{i}" for i in range(20)]
    rows = await pool.fetch("SELECT name, xmin::text::bigint AS tx FROM jobs ORDER BY created_at, id")
    # The first is written at once; the others, come while it was written, go together.
    assert len({r["tx"] for r in rows}) < 20
    # Claimed oldest first: jobs submitted together keep the order they were submitted in.
    assert [r["name"] for r in rows] == [f"j{i}" for i in range(20)]


async def test_each_submitter_of_a_group_gets_its_own_limit_answer(pool: asyncpg.Pool) -> None:
    jobs = JobStore(pool)
    results = await asyncio.gather(
        *(insert(jobs, spec(f"a{i}"), "a", 3) for i in range(6)),
        *(insert(jobs, spec(f"b{i}"), "b", 3) for i in range(2)),
        return_exceptions=True,
    )
    a, b = results[:6], results[6:]
    assert [type(r) for r in a] == [v1.Job] * 3 + [LimitExceeded] * 3
    assert all(isinstance(r, LimitExceeded) and r.message == LIMIT_MESSAGE for r in a[3:])
    inserted = [r.spec.name for r in a[:3] + b if isinstance(r, v1.Job) and r.spec]
    assert inserted == ["a0", "a1", "a2", "b0", "b1"]
    counts = await pool.fetch("SELECT submitted_by, count(*) FROM jobs GROUP BY 1 ORDER BY 1")
    assert [tuple(r) for r in counts] == [("a", 3), ("b", 2)]


async def test_one_key_submitted_twice_in_a_group_makes_one_job(pool: asyncpg.Pool) -> None:
    jobs = JobStore(pool)
    keyed = [spec(name, idempotency_key="k") for name in ("first", "second")]
    (one, one_existing), (two, two_existing), (other, _) = await asyncio.gather(
        *(jobs.insert(s, placement_class=class_of(s)) for s in [*keyed, spec("other")])
    )
    assert (one_existing, two_existing) == (False, True)
    assert one.id == two.id and two.spec and two.spec.name == "first"
    assert other.spec and other.spec.name == "other"
    assert await pool.fetchval("SELECT count(*) FROM jobs") == 2


async def test_a_job_the_group_statement_refuses_gets_its_own_error(pool: asyncpg.Pool) -> None:
    """A value PostgreSQL refuses fails the whole group's statement: the others are written
    alone, and only the submitter of that value gets the error."""
    jobs = JobStore(pool)
    results = await asyncio.gather(
        insert(jobs, spec("before")),
        insert(jobs, spec("nul", cwd="/tmp/\x00")),
        insert(jobs, spec("after")),
        return_exceptions=True,
    )
    assert [r.spec.name for r in results if isinstance(r, v1.Job) and r.spec] == ["before", "after"]
    assert isinstance(results[1], Exception)
    assert await pool.fetchval("SELECT count(*) FROM jobs") == 2


@pytest.mark.parametrize("cancelled", [0, 1, 2])
async def test_a_submitter_that_goes_away_leaves_the_others_answered(
    cancelled: int, pool: asyncpg.Pool
) -> None:
    jobs = JobStore(pool)
    tasks = [asyncio.ensure_future(insert(jobs, spec(f"j{i}"))) for i in range(4)]
    await asyncio.sleep(0)  # each has queued its job; the first writes
    tasks[cancelled].cancel()
    done = await asyncio.gather(*tasks, return_exceptions=True)
    assert isinstance(done[cancelled], asyncio.CancelledError)
    answered = [r for i, r in enumerate(done) if i != cancelled]
    assert all(isinstance(r, v1.Job) for r in answered)
    names = {r["name"] for r in await pool.fetch("SELECT name FROM jobs")}
    assert {f"j{i}" for i in range(4) if i != cancelled} <= names
