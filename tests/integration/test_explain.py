"""Placement decisions through the Daemon on real PostgreSQL: recorded when distinct,
explained on request (a waiting job evaluated now), streamed to watchers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest

from hodei_api import v1
from hodei_api.worker_identity import new_credential
from hodeid.config import SchedulerSettings
from hodeid.control.daemon import Daemon
from hodeid.control.registry import Session
from hodeid.store.decisions import DecisionRow

SETTINGS = SchedulerSettings(tick_seconds=0.05, heartbeat_interval_seconds=60, decisions_per_job=3)
R = v1.PlacementReason


@pytest.fixture
async def daemon(pool: asyncpg.Pool) -> AsyncIterator[Daemon]:
    daemon = Daemon(pool, SETTINGS)
    await daemon.start()
    yield daemon
    await daemon.stop()


async def connect(daemon: Daemon, worker_id: str, slots: int = 1, cpu: float = 2, **labels: str) -> Session:
    """A live session as the Connect stream makes one (the stream itself is tested elsewhere)."""
    hello = v1.Hello(
        worker_id=worker_id, hostname="h", labels=labels, slots=slots,
        resources=v1.Resources(cpu=cpu, memory_mb=1024), credential=new_credential(),
    )  # fmt: skip
    session, _ = await daemon.sessions.attach(hello)
    return session


async def submit(daemon: Daemon, *selector: str, cpu: float = 0, priority: int = 0) -> v1.Job:
    spec = v1.JobSpec(
        command=["true"], selector=list(selector), priority=priority, resources=v1.Resources(cpu=cpu)
    )
    job, _ = await daemon.submit(spec)
    return job


async def wait_state(daemon: Daemon, job_id: str, state: v1.JobState) -> v1.Job:
    async with asyncio.timeout(30):
        while (job := await daemon.get(job_id)).state is not state:
            await asyncio.sleep(0.02)
    return job


async def newest_placed(daemon: Daemon, job_id: str) -> list[v1.Decision]:
    """The job's decisions once the PLACED one is stored (it is written just after the claim
    commits, so a job can be ASSIGNED a moment before its decision is)."""
    async with asyncio.timeout(30):
        while not (decisions := (await daemon.explain(job_id)).decisions) or (
            decisions[0].outcome is not v1.PlacementOutcome.PLACED
        ):
            await asyncio.sleep(0.02)
    return decisions


def verdicts(decision: v1.Decision) -> dict[str, tuple[v1.PlacementReason, str]]:
    return {v.target: (v.reason, v.message) for v in decision.verdicts}


async def test_with_no_worker_the_explanation_says_so(daemon: Daemon) -> None:
    job = await submit(daemon)
    explained = await daemon.explain(job.id)
    assert explained.state is v1.JobState.PENDING
    now = explained.decisions[0]
    assert now.outcome is v1.PlacementOutcome.UNPLACEABLE
    assert now.summary == "UNPLACEABLE: no worker is connected; 1 NO_PROVIDER"
    assert verdicts(now) == {"-": (R.NO_PROVIDER, "no provider is configured")}


async def test_selector_places_on_the_matching_worker_and_explains_the_other(daemon: Daemon) -> None:
    await connect(daemon, "cpu", slots=2, gpu="false")
    await connect(daemon, "gpu", slots=1, gpu="true")
    job = await submit(daemon, "gpu=true")
    assert (await wait_state(daemon, job.id, v1.JobState.ASSIGNED)).worker_id == "gpu"
    [placed] = await newest_placed(daemon, job.id)
    assert (placed.outcome, placed.worker_id) == (v1.PlacementOutcome.PLACED, "gpu")
    assert verdicts(placed)["cpu"] == (R.SELECTOR_MISMATCH, "label gpu=true: worker has gpu=false")
    assert verdicts(placed)["gpu"][0] is R.FITS
    assert (placed.evaluated, placed.eligible, placed.filtered, placed.exhausted) == (2, 1, 1, 0)
    assert placed.histogram == {"SELECTOR_MISMATCH": 1, "NO_PROVIDER": 1}
    assert placed.strategy == "least-loaded" and placed.duration_ms > 0


async def test_a_waiting_job_writes_one_row_per_distinct_decision(daemon: Daemon, pool: asyncpg.Pool) -> None:
    await connect(daemon, "earth", slots=4, zone="earth")
    job = await submit(daemon, "zone=mars")
    await asyncio.sleep(0.6)  # a dozen scheduling passes
    count = await pool.fetchval("SELECT count(*) FROM decisions WHERE job_id = $1", job.id)
    assert count == 1
    now, stored = (await daemon.explain(job.id)).decisions
    for decision in (now, stored):
        assert decision.outcome is v1.PlacementOutcome.UNPLACEABLE
        assert verdicts(decision)["earth"] == (R.SELECTOR_MISMATCH, "label zone=mars: worker has zone=earth")
    await connect(daemon, "mars", zone="mars")
    assert (await wait_state(daemon, job.id, v1.JobState.ASSIGNED)).worker_id == "mars"
    newest = (await newest_placed(daemon, job.id))[0]
    assert (newest.outcome, newest.worker_id) == (v1.PlacementOutcome.PLACED, "mars")


async def test_too_much_cpu_is_explained_with_the_numbers(daemon: Daemon) -> None:
    await connect(daemon, "small", slots=2, cpu=2)
    job = await submit(daemon, cpu=64)
    now = (await daemon.explain(job.id)).decisions[0]
    assert now.outcome is v1.PlacementOutcome.UNPLACEABLE
    assert verdicts(now)["small"] == (R.CPU_EXHAUSTED, "cpu: needs 64, has 2 in all")


async def test_an_unplaceable_urgent_job_does_not_block_the_others(daemon: Daemon) -> None:
    urgent = await submit(daemon, "zone=mars", priority=9)
    normal = await submit(daemon, priority=1)
    await connect(daemon, "w1")
    await wait_state(daemon, normal.id, v1.JobState.ASSIGNED)
    assert (await daemon.get(urgent.id)).state is v1.JobState.PENDING


async def test_watchers_see_decisions_as_they_are_made(daemon: Daemon) -> None:
    stream = daemon.watch_decisions("")
    first = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0)
    job = await submit(daemon)
    await connect(daemon, "w1")
    async with asyncio.timeout(30):
        decision = await first
    assert (decision.job_id, decision.outcome, decision.worker_id) == (
        job.id,
        v1.PlacementOutcome.PLACED,
        "w1",
    )
    await stream.aclose()


async def test_history_is_pruned_to_the_newest_per_job(daemon: Daemon) -> None:
    job = await submit(daemon, "zone=mars")
    store = daemon.decisions.store
    rows = [
        DecisionRow(job.id, datetime.now(UTC), "WAITING", None, "least-loaded", 0.1,
                    [[f"w{i}", "worker", "NO_FREE_SLOT", "slots: 1 of 1 in use", True, None]])
        for i in range(6)
    ]  # fmt: skip
    await store.append(rows)
    assert await store.prune(3) == 3
    kept = await store.of_job(job.id, 10)
    assert [r.verdicts[0][0] for r in kept] == ["w5", "w4", "w3"]
    history = (await daemon.explain(job.id)).decisions[1:]
    assert [d.verdicts[0].target for d in history] == ["w5", "w4", "w3"]
    assert history[0].summary == "WAITING: 1 NO_FREE_SLOT"
