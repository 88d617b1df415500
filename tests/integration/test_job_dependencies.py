"""Job dependencies on real PostgreSQL: a job waits unclaimed until its dependencies end, the
transaction that ends one frees or cancels its dependents (down the chain), concurrent
settlements count right, and bad dependencies are refused at submit."""

from __future__ import annotations

import asyncio
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime

import asyncpg
import pytest

from hodei_api import v1
from hodeid.control.daemon import Daemon
from hodeid.control.settle import decide
from hodeid.domain.states import ACTIVE
from hodeid.errors import InvalidRequest
from hodeid.store.jobs import AttemptEnd, PendingJob
from hodeid.store.queries import Q
from tests.integration.conftest import StartDaemon
from tests.support.scripted_worker import FAST

S = v1.JobState
ANY_STREAM: defaultdict[str, str] = defaultdict(lambda: "stream")


@pytest.fixture
async def daemon(pool: asyncpg.Pool) -> AsyncIterator[Daemon]:
    # Not started: no scheduler loop claims jobs behind the test's back.
    yield Daemon(pool, FAST)


async def submit(
    daemon: Daemon, *, after: Sequence[str] = (), after_any: Sequence[str] = (), **kw: object
) -> v1.Job:
    spec = v1.JobSpec(command=["true"], after=list(after), after_any=list(after_any), **kw)  # type: ignore[arg-type]
    job, _ = await daemon.submit(spec)
    return job


def take(*job_ids: str) -> object:
    def placer(pending: list[PendingJob]) -> list[tuple[str, str]]:
        return [(p.id, "w") for p in pending if p.id in job_ids]

    return placer


async def claimable(daemon: Daemon) -> set[str]:
    """The jobs a claim would look at now (claimed by nobody: the placer takes none)."""
    seen: set[str] = set()

    def placer(pending: list[PendingJob]) -> list[tuple[str, str]]:
        seen.update(p.id for p in pending)
        return []

    await daemon.jobs.claim(1000, placer, ANY_STREAM, "d")
    return seen


async def run_and_end(daemon: Daemon, job_id: str, outcome: v1.AttemptOutcome) -> S:
    """Claim ``job_id`` and end its attempt with ``outcome``: the job's new state."""
    [assigned] = await daemon.jobs.claim(1000, take(job_id), ANY_STREAM, "d")  # type: ignore[arg-type]
    end = AttemptEnd(job_id, assigned.job.attempt, outcome, exit_code=0, finished_at=datetime.now(UTC))
    [settled] = await daemon.jobs.settle([end], sorted(ACTIVE), decide)
    return settled.state


async def state_and_reason(daemon: Daemon, job_id: str) -> tuple[S, str]:
    job = await daemon.get(job_id)
    return job.state, job.reason


async def test_a_job_waits_unclaimed_until_its_dependency_succeeds(daemon: Daemon) -> None:
    a = await submit(daemon, name="build")
    b = await submit(daemon, after=[a.id[:8]])
    assert b.state is S.PENDING and b.spec and b.spec.after == [a.id]
    assert await claimable(daemon) == {a.id}
    assert await daemon.job_counts() == ({"PENDING": 2}, 1)
    explained = await daemon.explain(b.id[:8])
    [decision] = explained.decisions
    assert decision.outcome is v1.PlacementOutcome.WAITING
    assert [(v.target, v.kind, v.reason) for v in decision.verdicts] == [
        (a.id, "dependency", v1.PlacementReason.WAITING_ON_DEPENDENCY)
    ]
    assert decision.verdicts[0].message == "'build' is PENDING; --after needs it SUCCEEDED"
    assert await run_and_end(daemon, a.id, v1.AttemptOutcome.SUCCEEDED) is S.SUCCEEDED
    assert await claimable(daemon) == {b.id}
    assert await daemon.job_counts() == ({"PENDING": 1, "SUCCEEDED": 1}, 0)
    assert (await daemon.explain(b.id)).decisions[0].verdicts[0].kind != "dependency"
    # Its start latency counts from then, not from its submission.
    ready = await daemon.pool.fetchval("SELECT run_after FROM jobs WHERE id = $1", uuid.UUID(b.id))
    assert ready >= (await daemon.get(a.id)).finished_at


async def test_a_failed_dependency_cancels_the_chain_and_frees_after_any(daemon: Daemon) -> None:
    a = await submit(daemon)
    b = await submit(daemon, after=[a.id])
    c = await submit(daemon, after=[b.id])
    d = await submit(daemon, after_any=[c.id])
    e = await submit(daemon, after_any=[a.id])
    assert await claimable(daemon) == {a.id}
    assert await run_and_end(daemon, a.id, v1.AttemptOutcome.FAILED) is S.FAILED
    assert await state_and_reason(daemon, b.id) == (
        S.CANCELLED,
        f"dependency {a.id} ended FAILED; --after needs it SUCCEEDED",
    )
    assert await state_and_reason(daemon, c.id) == (
        S.CANCELLED,
        f"dependency {b.id} ended CANCELLED; --after needs it SUCCEEDED",
    )
    assert await claimable(daemon) == {d.id, e.id}
    assert (await daemon.get(c.id)).finished_at is not None


async def test_a_dependency_with_retries_left_counts_by_its_final_state(daemon: Daemon) -> None:
    a = await submit(daemon, max_retries=1)
    b = await submit(daemon, after=[a.id])
    assert await run_and_end(daemon, a.id, v1.AttemptOutcome.FAILED) is S.PENDING
    assert await state_and_reason(daemon, b.id) == (S.PENDING, "")
    assert await claimable(daemon) == {a.id}
    assert await run_and_end(daemon, a.id, v1.AttemptOutcome.TIMED_OUT) is S.TIMED_OUT
    assert (await daemon.get(b.id)).state is S.CANCELLED
    assert "ended TIMED_OUT" in (await daemon.get(b.id)).reason


async def test_cancelling_a_waiting_dependency_cancels_its_dependents(daemon: Daemon) -> None:
    a = await submit(daemon)
    b = await submit(daemon, after=[a.id])
    await daemon.cancel(a.id, "not needed")
    assert await state_and_reason(daemon, b.id) == (
        S.CANCELLED,
        f"dependency {a.id} ended CANCELLED; --after needs it SUCCEEDED",
    )


async def test_dependencies_already_ended_at_submit_count_at_once(daemon: Daemon) -> None:
    ok, failed = await submit(daemon), await submit(daemon)
    assert await run_and_end(daemon, ok.id, v1.AttemptOutcome.SUCCEEDED) is S.SUCCEEDED
    assert await run_and_end(daemon, failed.id, v1.AttemptOutcome.FAILED) is S.FAILED
    free = await submit(daemon, after=[ok.id], after_any=[failed.id])
    assert free.state is S.PENDING and await claimable(daemon) == {free.id}
    doomed = await submit(daemon, after=[ok.id, failed.id])
    assert doomed.state is S.CANCELLED and doomed.finished_at is not None
    assert doomed.reason == f"dependency {failed.id} ended FAILED; --after needs it SUCCEEDED"
    assert await claimable(daemon) == {free.id}


async def test_two_settlements_at_once_both_count(daemon: Daemon, pool: asyncpg.Pool) -> None:
    a, b = await submit(daemon), await submit(daemon)
    c = await submit(daemon, after=[a.id, b.id])
    for job in (a, b):
        await daemon.jobs.claim(1000, take(job.id), ANY_STREAM, "d")  # type: ignore[arg-type]
    # Another daemon ends A and has not committed: it holds C, whose count it lowered.
    async with pool.acquire() as other, other.transaction():
        await other.execute("UPDATE jobs SET state = 'SUCCEEDED', finished_at = now() WHERE id = $1", a.id)
        end = AttemptEnd(b.id, 1, v1.AttemptOutcome.SUCCEEDED, exit_code=0, finished_at=datetime.now(UTC))
        settling = asyncio.create_task(daemon.jobs.settle([end], sorted(ACTIVE), decide))
        await _blocked(pool)
        assert not settling.done()
    assert [s.state for s in await settling] == [S.SUCCEEDED]
    assert await claimable(daemon) == {c.id}
    assert await pool.fetchval("SELECT waiting_on FROM jobs WHERE id = $1", c.id) == 0


async def test_many_dependencies_settled_concurrently_free_the_dependent_once(daemon: Daemon) -> None:
    deps = [await submit(daemon) for _ in range(16)]
    last = await submit(daemon, after=[d.id for d in deps])
    await daemon.jobs.claim(1000, take(*(d.id for d in deps)), ANY_STREAM, "d")  # type: ignore[arg-type]
    now = datetime.now(UTC)
    ends = [AttemptEnd(d.id, 1, v1.AttemptOutcome.SUCCEEDED, exit_code=0, finished_at=now) for d in deps]
    await asyncio.gather(*(daemon.jobs.settle([e], sorted(ACTIVE), decide) for e in ends))
    assert await claimable(daemon) == {last.id}


async def _blocked(pool: asyncpg.Pool) -> None:
    """Return once some backend waits for a lock (the settlement, behind the open transaction)."""
    async with asyncio.timeout(10):
        while not await pool.fetchval(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE wait_event_type = 'Lock' AND datname = current_database()"
        ):
            await asyncio.sleep(0.01)


@pytest.mark.parametrize(
    ("after", "message"),
    [
        (["5d8f2f6e-0000-4000-8000-000000000000"], "no job 5d8f2f6e-0000-4000-8000-000000000000"),
        (["ffffffff"], "--after ffffffff: no job id starts with 'ffffffff'"),
        (["not-an-id"], "--after 'not-an-id' is not a job id"),
        ([""], "--after '' is not a job id"),
    ],
)
async def test_unknown_dependencies_are_refused(daemon: Daemon, after: list[str], message: str) -> None:
    with pytest.raises(InvalidRequest, match=message):
        await submit(daemon, after=after)
    assert await daemon.jobs.page([], 10, None) == []


async def test_a_resubmission_cannot_make_a_job_depend_on_itself(daemon: Daemon) -> None:
    a = await submit(daemon, idempotency_key="a")
    b = await submit(daemon, after=[a.id], idempotency_key="b")
    with pytest.raises(InvalidRequest, match="a job cannot depend on itself"):
        await submit(daemon, after=[a.id], idempotency_key="a")
    # A cycle through B: A would run after B, which runs after A.
    with pytest.raises(InvalidRequest, match=f"idempotency key 'a' names job {a.id}"):
        await submit(daemon, after_any=[b.id], idempotency_key="a")
    # Naming a job that does not run after it returns it, as any resubmission does.
    other = await submit(daemon)
    again, existing = await daemon.submit(v1.JobSpec(command=["true"], after=[other.id], idempotency_key="a"))
    assert existing and again.id == a.id and again.spec and again.spec.after == []
    assert await pool_edges(daemon) == {(b.id, a.id)}


async def pool_edges(daemon: Daemon) -> set[tuple[str, str]]:
    found = await daemon.pool.fetch("SELECT job_id, depends_on FROM job_dependencies")
    return {(str(r["job_id"]), str(r["depends_on"])) for r in found}


async def test_a_submission_naming_a_job_does_not_keep_it_from_being_claimed(
    daemon: Daemon, pool: asyncpg.Pool
) -> None:
    a = await submit(daemon)
    # A submission --after A, under way: it holds A's row as lock_dependencies locks it.
    async with pool.acquire() as other, other.transaction():
        await other.fetch(Q["lock_dependencies"], [uuid.UUID(a.id)])
        assert await claimable(daemon) == {a.id}


async def test_a_submission_waits_for_a_dependency_that_is_ending(daemon: Daemon, pool: asyncpg.Pool) -> None:
    a = await submit(daemon)
    await daemon.jobs.claim(1000, take(a.id), ANY_STREAM, "d")  # type: ignore[arg-type]
    # Another daemon is ending A (locked as lock_active_attempts locks it) and has not committed.
    async with pool.acquire() as other, other.transaction():
        await other.execute("SELECT 1 FROM jobs WHERE id = $1 FOR UPDATE", a.id)
        await other.execute("UPDATE jobs SET state = 'FAILED', finished_at = now() WHERE id = $1", a.id)
        submitting = asyncio.create_task(submit(daemon, after=[a.id]))
        await _blocked(pool)
        assert not submitting.done()
    b = await submitting
    assert (b.state, b.reason) == (S.CANCELLED, f"dependency {a.id} ended FAILED; --after needs it SUCCEEDED")


async def test_retrying_a_job_cancelled_by_its_dependency_waits_only_on_what_has_not_ended(
    daemon: Daemon,
) -> None:
    failed, running = await submit(daemon), await submit(daemon)
    b = await submit(daemon, after=[failed.id, running.id])
    assert await run_and_end(daemon, failed.id, v1.AttemptOutcome.FAILED) is S.FAILED
    assert (await daemon.get(b.id)).state is S.CANCELLED
    await daemon.jobs.claim(1000, take(running.id), ANY_STREAM, "d")  # type: ignore[arg-type]
    assert (await daemon.retry(b.id)).state is S.PENDING
    assert await claimable(daemon) == set()
    assert [v.target for v in (await daemon.explain(b.id)).decisions[0].verdicts] == [running.id]
    end = AttemptEnd(running.id, 1, v1.AttemptOutcome.SUCCEEDED, exit_code=0, finished_at=datetime.now(UTC))
    await daemon.jobs.settle([end], sorted(ACTIVE), decide)
    assert await claimable(daemon) == {b.id}


async def test_another_daemon_ending_the_dependency_cancels_and_announces_the_dependent(
    start_daemon: StartDaemon,
) -> None:
    here, there = await start_daemon(), await start_daemon()
    a = await submit(here)
    b = await submit(here, after=[a.id])
    events = here.watch_jobs(10)
    async with asyncio.timeout(30):
        async for event in events:
            if event.listed:
                break
        await run_and_end(there, a.id, v1.AttemptOutcome.CANCELLED)
        async for event in events:
            if event.job is not None and event.job.id == b.id and event.job.state is S.CANCELLED:
                break
    await events.aclose()  # type: ignore[attr-defined]
    assert (await here.get(b.id)).reason == f"dependency {a.id} ended CANCELLED; --after needs it SUCCEEDED"


async def test_a_settlement_says_whether_jobs_waited_on_the_one_it_ended(daemon: Daemon) -> None:
    """What tells the scheduler that an end may have made work claimable (a dependent freed)."""
    a = await submit(daemon)
    b = await submit(daemon, after=[a.id])
    alone = await submit(daemon)
    for job_id, waited_on in ((a.id, True), (alone.id, False)):
        [assigned] = await daemon.jobs.claim(1000, take(job_id), ANY_STREAM, "d")  # type: ignore[arg-type]
        end = AttemptEnd(job_id, assigned.job.attempt, v1.AttemptOutcome.SUCCEEDED, exit_code=0)
        [settled] = await daemon.jobs.settle([end], sorted(ACTIVE), decide)
        assert (settled.state, settled.waited_on) == (S.SUCCEEDED, waited_on)
    assert await claimable(daemon) == {b.id}
