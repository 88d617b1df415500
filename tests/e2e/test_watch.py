"""WatchJobs and WatchWorkers across real processes: two hodeid sharing one database each tell
their watchers about every job change, whichever daemon made it; a killed worker is shown gone."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator

import pytest

from hodei_api import v1
from hodei_api.client import Client
from tests.support.jobs import detach
from tests.support.processes import Cluster

DEADLINE = 60.0


@pytest.fixture
def with_worker(pair: tuple[Cluster, Cluster]) -> tuple[Cluster, Cluster]:
    """Daemon A with a worker, daemon B with none, on one database."""
    pair[0].start_worker("--id", "w-a")
    return pair


async def states_of(events: AsyncIterator[v1.JobEvent], job_id: str, until: v1.JobState) -> list[v1.JobState]:
    seen: list[v1.JobState] = []
    async with asyncio.timeout(DEADLINE):
        async for event in events:
            if event.job is not None and event.job.id == job_id:
                seen.append(event.job.state)
                if event.job.state is until:
                    return seen
    raise AssertionError(f"the watch ended; saw {seen}")


async def listed(events: AsyncIterator[v1.JobEvent]) -> None:
    async with asyncio.timeout(DEADLINE):
        async for event in events:
            if event.listed:
                return


async def test_both_daemons_watchers_see_every_change(with_worker: tuple[Cluster, Cluster]) -> None:
    a, b = with_worker
    async with Client(a.addr, a.admin_token()) as on_a, Client(b.addr, b.admin_token()) as on_b:
        watch_a = on_a.jobs.watch_jobs(v1.WatchJobsRequest())
        watch_b = on_b.jobs.watch_jobs(v1.WatchJobsRequest())
        await listed(watch_a)
        await listed(watch_b)
        # Submitted to B, which has no worker: A claims it and runs it on its worker.
        job_id = await asyncio.to_thread(detach, b, "--", "sh", "-c", "echo hi")
        seen_a, seen_b = await asyncio.gather(
            states_of(watch_a, job_id, v1.JobState.SUCCEEDED),
            states_of(watch_b, job_id, v1.JobState.SUCCEEDED),
        )
    for seen in (seen_a, seen_b):
        assert seen[-1] is v1.JobState.SUCCEEDED
        assert seen == sorted(seen), f"states only move forward: {seen}"


async def test_a_killed_worker_is_shown_gone(with_worker: tuple[Cluster, Cluster]) -> None:
    a, _ = with_worker
    async with Client(a.addr, a.admin_token()) as client:
        events = client.workers.watch_workers(v1.WatchWorkersRequest())
        async with asyncio.timeout(DEADLINE):
            async for event in events:
                if event.worker is not None and event.worker.id == "w-a" and event.worker.live:
                    break
            [worker] = a.workers
            os.kill(worker.pid, signal.SIGKILL)
            await asyncio.to_thread(worker.wait)
            async for event in events:
                if event.worker is not None and event.worker.id == "w-a" and not event.worker.live:
                    return
    raise AssertionError("the watch ended before the worker was shown gone")
