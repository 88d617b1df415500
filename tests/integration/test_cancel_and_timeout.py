"""A cancel for a job whose worker is away, and a timeout the worker cannot enforce because it
went silent: the daemon's side, with a worker stream driven by the test."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime

import asyncpg
import pytest

from hodei_api import v1
from hodeid.control.daemon import Daemon
from tests.support.auth import channel_for
from tests.support.scripted_worker import FAST, ScriptedWorker, submit, wait_state

Connected = Callable[..., AbstractAsyncContextManager[object]]


@pytest.fixture
def connected(pool: asyncpg.Pool) -> Connected:
    """A daemon with FAST settings changed as asked, and a channel to its services."""

    @asynccontextmanager
    async def make(**settings: float) -> AsyncIterator[object]:
        daemon = Daemon(pool, FAST.model_copy(update=settings))
        await daemon.start()
        try:
            async with channel_for(daemon) as channel:
                yield channel
        finally:
            await daemon.stop()

    return make


async def running_then_gone(channel: object, **spec: object) -> tuple[v1.Job, str]:
    """A job running on worker w1, whose stream then ends, and w1's credential."""
    worker = ScriptedWorker(v1.WorkerServiceStub(channel), "w1")  # type: ignore[arg-type]
    await worker.next("welcome")
    job = await submit(channel, "sleep", "100", **spec)
    await worker.next("run_job")
    worker.send(accepted=v1.Accepted(job_id=job.id, attempt=1, pid=1, started_at=datetime.now(UTC)))
    await wait_state(channel, job.id, v1.JobState.RUNNING)
    worker.close()
    workers = v1.WorkerServiceStub(channel)  # type: ignore[arg-type]
    async with asyncio.timeout(30):
        while (await workers.list_workers(v1.ListWorkersRequest())).workers:
            await asyncio.sleep(0.02)
    return job, worker.credential


async def test_a_cancel_for_an_absent_worker_is_sent_when_it_reconnects(connected: Connected) -> None:
    async with connected() as channel:
        job, credential = await running_then_gone(channel, max_retries=2)
        jobs = v1.JobServiceStub(channel)  # type: ignore[arg-type]
        cancelled = await jobs.cancel_job(v1.CancelJobRequest(id=job.id, reason="stop it"))
        assert cancelled.state is v1.JobState.RUNNING
        back = ScriptedWorker(v1.WorkerServiceStub(channel), "w1", credential=credential)  # type: ignore[arg-type]
        back.hello.running = [v1.RunningAttempt(job_id=job.id, attempt=1, last_seq=0)]
        welcome = (await back.next("welcome")).welcome
        assert welcome is not None and welcome.stale == []
        cancel = (await back.next("cancel")).cancel
        assert cancel is not None and (cancel.job_id, cancel.attempt, cancel.reason) == (
            job.id,
            1,
            "stop it (cancelled by test-admin)",
        )
        outcome = v1.AttemptOutcome.CANCELLED
        back.send(finished=v1.Finished(job_id=job.id, attempt=1, outcome=outcome, signal=15))
        done = await wait_state(channel, job.id, v1.JobState.CANCELLED)
        assert [a.outcome for a in done.attempts] == [v1.AttemptOutcome.CANCELLED]
        back.close()


async def test_a_cancel_for_a_worker_that_is_lost_ends_the_job_cancelled_not_retried(
    connected: Connected,
) -> None:
    async with connected(lost_grace_seconds=0.5) as channel:
        job, _ = await running_then_gone(channel, max_retries=2)
        jobs = v1.JobServiceStub(channel)  # type: ignore[arg-type]
        await jobs.cancel_job(v1.CancelJobRequest(id=job.id, reason="stop it"))
        done = await wait_state(channel, job.id, v1.JobState.CANCELLED)
        assert [a.outcome for a in done.attempts] == [v1.AttemptOutcome.LOST]
        assert done.reason.startswith("stop it (cancelled by test-admin); worker w1 lost")


async def test_a_silent_workers_job_past_its_timeout_and_grace_is_timed_out_by_the_daemon(
    connected: Connected,
) -> None:
    # The grace before LOST is far longer than the job's timeout and kill grace.
    async with connected(lost_grace_seconds=4) as channel:
        job, _ = await running_then_gone(channel, timeout_seconds=0.3, kill_grace_seconds=0.2)
        done = await wait_state(channel, job.id, v1.JobState.TIMED_OUT)
        assert [a.outcome for a in done.attempts] == [v1.AttemptOutcome.TIMED_OUT]
        assert "timed out after 0.3 s on worker w1, which has been unreachable" in done.reason
