"""The scheduler of an idle daemon on real PostgreSQL: a pass over an empty queue (every tick)
looks at no connected worker, so its cost does not grow with the fleet (issue 12: 1,000 idle
workers cost hodeid at most 10% of a core); a pass with a job to place, or with a placement
class to look at again, still sees them all."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from hodei_api import v1
from hodei_api.worker_identity import new_credential
from hodeid.config import SchedulerSettings
from hodeid.control.daemon import Daemon
from hodeid.control.registry import Session
from hodeid.domain.placement import WorkerState
from hodeid.store.jobs import Assignment, JobStore
from tests.integration.conftest import StartDaemon

# Heartbeats far apart: the workers here have no stream, and must not turn stale meanwhile.
SETTINGS = SchedulerSettings(tick_seconds=0.05, heartbeat_interval_seconds=60)


@pytest.fixture
async def daemon(start_daemon: StartDaemon) -> Daemon:
    return await start_daemon(SETTINGS)


@pytest.fixture
def looked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The ids of the workers whose state a scheduling pass made, in order (the real
    ``Session.state`` still answers)."""
    seen: list[str] = []
    state = Session.state

    def noted(session: Session, now: float | None = None) -> WorkerState:
        seen.append(session.worker_id)
        return state(session, now)

    monkeypatch.setattr(Session, "state", noted)
    return seen


async def connect(daemon: Daemon, worker_id: str, **labels: str) -> None:
    hello = v1.Hello(
        worker_id=worker_id, hostname="h", labels=labels, slots=1,
        resources=v1.Resources(cpu=1, memory_mb=1024), credential=new_credential(),
    )  # fmt: skip
    await daemon.sessions.attach(hello)


async def placed_on(daemon: Daemon, job_id: str) -> str:
    async with asyncio.timeout(30):
        while (job := await daemon.get(job_id)).state is v1.JobState.PENDING:
            await daemon.scheduler.schedule()
    return job.worker_id


async def test_a_pass_over_an_empty_queue_looks_at_no_worker(daemon: Daemon, looked: list[str]) -> None:
    for i in range(3):
        await connect(daemon, f"idle-{i}")
    await daemon.scheduler.schedule()
    assert looked == []
    job, _ = await daemon.submit(v1.JobSpec(command=["true"]))
    assert await placed_on(daemon, job.id) in {"idle-0", "idle-1", "idle-2"}
    assert {"idle-0", "idle-1", "idle-2"} <= set(looked)


async def test_a_skipped_class_is_looked_at_again_when_a_worker_that_fits_connects(
    daemon: Daemon, looked: list[str]
) -> None:
    await connect(daemon, "plain")
    job, _ = await daemon.submit(v1.JobSpec(command=["true"], selector=["gpu=true"]))
    # The daemon's own loop may be looking at the job (locked, so skipped here) meanwhile.
    async with asyncio.timeout(30):
        while len(daemon.scheduler.blocked) != 1:
            await daemon.scheduler.schedule()
            await asyncio.sleep(0.01)
    looked.clear()
    await connect(daemon, "gpu", gpu="true")
    assert await placed_on(daemon, job.id) == "gpu"
    assert "gpu" in looked


async def test_a_claim_that_found_nothing_is_not_asked_again_until_work_may_have_come(
    start_daemon: StartDaemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Freed slots queue nothing: after a claim found the queue empty, a pass for them does not
    ask the database again, until an event that may queue work (a submission) or the timer."""
    claims: list[int] = []
    claim = JobStore.claim

    async def counted(store: JobStore, *args: Any, **kwargs: Any) -> list[Assignment]:
        try:
            return await claim(store, *args, **kwargs)
        finally:
            claims.append(1)  # once it is over

    monkeypatch.setattr(JobStore, "claim", counted)
    # A timer far away: every pass here follows an event.
    daemon = await start_daemon(SchedulerSettings(tick_seconds=30, heartbeat_interval_seconds=60))
    await connect(daemon, "only")  # a worker came: the loop looks at the queue
    async with asyncio.timeout(30):
        while not claims:
            await asyncio.sleep(0.01)
    seen = len(claims)
    daemon.scheduler.slots_freed()
    await daemon.scheduler.schedule()
    assert len(claims) == seen
    job, _ = await daemon.submit(v1.JobSpec(command=["true"]))
    assert await placed_on(daemon, job.id) == "only"
    assert len(claims) > seen
