"""A backlog of jobs no worker can take, longer than a scheduling pass looks at, must not hold
back the jobs behind it (issue 12's starvation), and each of its jobs still says why it waits."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from hodei_api import v1
from hodei_api.client import Client
from tests.support.processes import Cluster, cluster

# More than claim_batch (256): today's window never reached past them.
BACKLOG = 600
RUNNABLE = 20
# Generous for a busy machine: on an idle one the runnable jobs are done within a second or two.
DEADLINE = 60.0


async def submit(client: Client, specs: list[v1.JobSpec], in_flight: int = 32) -> list[str]:
    """Submit ``specs`` through the API, ``in_flight`` at a time; their ids in order."""
    ids = [""] * len(specs)
    sem = asyncio.Semaphore(in_flight)

    async def one(i: int) -> None:
        async with sem:
            job = (await client.jobs.submit_job(v1.SubmitJobRequest(spec=specs[i]))).job
            assert job is not None
            ids[i] = job.id

    await asyncio.gather(*(one(i) for i in range(len(specs))))
    return ids


async def wait_all(client: Client, ids: list[str], state: v1.JobState) -> None:
    deadline = time.monotonic() + DEADLINE
    waiting = set(ids)
    while waiting:
        jobs = (await client.jobs.list_jobs(v1.ListJobsRequest(states=[state], limit=1000))).jobs
        waiting -= {j.id for j in jobs}
        if time.monotonic() > deadline:
            some = [await client.jobs.get_job(v1.GetJobRequest(id=j)) for j in sorted(waiting)[:3]]
            raise AssertionError(
                f"{len(waiting)} of {len(ids)} jobs not {state.name} after {DEADLINE:g} s, e.g. "
                + ", ".join(f"{j.id} {j.state.name}" for j in some)
            )
        await asyncio.sleep(0.1)


def wait_worker(c: Cluster) -> None:
    deadline = time.monotonic() + 15
    while not json.loads(c.hodei("worker", "list", "-o", "json").stdout):
        assert time.monotonic() < deadline, "the worker did not connect"
        time.sleep(0.1)


async def test_runnable_jobs_start_past_a_backlog_that_fits_no_worker(
    database_url: str, tmp_path: Path
) -> None:
    with cluster(database_url, tmp_path, workers=[["--id", "plain", "--slots", "4"]]) as c:
        await asyncio.to_thread(wait_worker, c)
        async with Client(c.addr, c.admin_token()) as client:
            gpu = v1.JobSpec(name="needs-gpu", command=["true"], selector=["gpu=true"], priority=5)
            backlog = await submit(client, [gpu] * BACKLOG)
            plain = await submit(client, [v1.JobSpec(name="plain", command=["true"])] * RUNNABLE)
            await wait_all(client, plain, v1.JobState.SUCCEEDED)

            # Every job of the backlog waits, and says why: the one worker lacks the label.
            for job_id in backlog:
                explained = await client.scheduler.explain_job(v1.ExplainJobRequest(id=job_id))
                assert explained.state is v1.JobState.PENDING
                newest = explained.decisions[0]
                assert newest.outcome is v1.PlacementOutcome.UNPLACEABLE, newest.summary
                [verdict] = [v for v in newest.verdicts if v.target == "plain"]
                assert verdict.reason is v1.PlacementReason.SELECTOR_MISMATCH
                assert verdict.message == "label gpu=true: worker has none"
            # The head of the backlog was looked at by the scheduler: its trace is stored.
            stored = await client.scheduler.explain_job(v1.ExplainJobRequest(id=backlog[0]))
            assert len(stored.decisions) >= 2 and stored.decisions[1].summary.startswith("UNPLACEABLE")
            text = (await asyncio.to_thread(c.hodei, "job", "explain", backlog[-1])).stdout.decode()
            assert "SELECTOR_MISMATCH" in text and "label gpu=true: worker has none" in text

            # A worker that can take them connects: the skipped class is looked at again.
            c.start_worker("--id", "gpu", "--slots", "4", "--label", "gpu=true")
            await wait_all(client, backlog[:8], v1.JobState.SUCCEEDED)
