"""WatchJobs and WatchWorkers of a real Daemon served as hodeid serves them: the first listing,
changes from this daemon and from another sharing the database, a lost notification
connection, and worker connects, slot changes, drains and disconnects."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg

from hodei_api import v1
from hodeid.control.daemon import Daemon
from hodeid.control.jobfeed import MAX_PENDING, JobWatcher
from tests.support.auth import channel_for
from tests.support.scripted_worker import FAST, ScriptedWorker, submit


async def until(events: AsyncIterator[v1.JobEvent], wanted: str, state: v1.JobState) -> v1.Job:
    """Read job events until the job with ``wanted`` as its first command word is in ``state``."""
    async with asyncio.timeout(10):
        async for event in events:
            job = event.job
            if job is not None and job.spec and job.spec.command[0] == wanted and job.state is state:
                return job
    raise AssertionError("the watch ended")


async def listing(events: AsyncIterator[v1.JobEvent]) -> list[v1.Job]:
    jobs: list[v1.Job] = []
    async with asyncio.timeout(10):
        async for event in events:
            if event.listed:
                return jobs
            assert event.job is not None
            jobs.append(event.job)
    raise AssertionError("the watch ended before its listing did")


async def test_watch_lists_newest_first_then_follows_a_job_to_its_end(channel: object) -> None:
    first = await submit(channel, "old")
    second = await submit(channel, "older-than-nothing")
    jobs = v1.JobServiceStub(channel)  # type: ignore[arg-type]
    events = jobs.watch_jobs(v1.WatchJobsRequest(limit=10))
    assert [j.id for j in await listing(events)] == [second.id, first.id]
    job = await submit(channel, "new")
    assert (await until(events, "new", v1.JobState.PENDING)).id == job.id
    worker = ScriptedWorker(v1.WorkerServiceStub(channel), "w1", slots=4)  # type: ignore[arg-type]
    for _ in range(3):
        await worker.next("run_job")
    worker.send(accepted=v1.Accepted(job_id=job.id, attempt=1, pid=1, started_at=datetime.now(UTC)))
    assert (await until(events, "new", v1.JobState.RUNNING)).worker_id == "w1"
    worker.send(finished=v1.Finished(job_id=job.id, attempt=1, outcome=v1.AttemptOutcome.FAILED, exit_code=3))
    done = await until(events, "new", v1.JobState.FAILED)
    assert (done.exit_code, done.attempt) == (3, 1)
    worker.close()


async def test_watch_limit_bounds_the_first_listing(channel: object) -> None:
    for n in range(5):
        await submit(channel, f"job{n}")
    jobs = v1.JobServiceStub(channel)  # type: ignore[arg-type]
    listed = await listing(jobs.watch_jobs(v1.WatchJobsRequest(limit=2)))
    assert [j.spec.command[0] for j in listed if j.spec] == ["job4", "job3"]


async def test_changes_made_by_another_daemon_reach_the_watchers(channel: object, pool: asyncpg.Pool) -> None:
    events = v1.JobServiceStub(channel).watch_jobs(v1.WatchJobsRequest())  # type: ignore[arg-type]
    await listing(events)
    other = Daemon(pool, FAST)  # shares the database, never started: no scheduler, no feed
    async with channel_for(other, name="elsewhere") as elsewhere:
        job = await submit(elsewhere, "from-elsewhere")
        assert (await until(events, "from-elsewhere", v1.JobState.PENDING)).id == job.id
        await v1.JobServiceStub(elsewhere).cancel_job(v1.CancelJobRequest(id=job.id))
        assert (await until(events, "from-elsewhere", v1.JobState.CANCELLED)).id == job.id


async def test_a_lost_notification_connection_sends_the_listing_again(
    channel: object, pool: asyncpg.Pool
) -> None:
    events = v1.JobServiceStub(channel).watch_jobs(v1.WatchJobsRequest())  # type: ignore[arg-type]
    await listing(events)
    await pool.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = current_database() AND query LIKE 'LISTEN%'"
    )
    # Nothing is known about the changes made while nobody listened: the watcher starts over.
    await listing(events)
    job = await submit(channel, "after-the-gap")
    assert (await until(events, "after-the-gap", v1.JobState.PENDING)).id == job.id


def test_a_watcher_too_far_behind_is_dropped_to_a_fresh_listing() -> None:
    watcher = JobWatcher(resync=False)
    for n in range(MAX_PENDING):
        watcher.offer(v1.Job(id=f"job-{n}"))
    watcher.offer(v1.Job(id="job-0", state=v1.JobState.RUNNING))
    assert len(watcher.pending) == MAX_PENDING and not watcher.resync
    assert list(watcher.pending)[-1] == "job-0", "a changed job goes last, held once"
    watcher.offer(v1.Job(id="one-too-many"))
    assert watcher.pending == {} and watcher.resync


async def next_worker(events: AsyncIterator[v1.WorkerEvent], **fields: object) -> v1.WorkerInfo:
    async with asyncio.timeout(10):
        async for event in events:
            info = event.worker
            if info is not None and all(getattr(info, k) == v for k, v in fields.items()):
                return info
    raise AssertionError("the watch ended")


async def heartbeats(worker: ScriptedWorker) -> None:
    """Keep the scripted worker's stream fresh, as a real worker would."""
    for seq in range(1, 1000):
        worker.send(heartbeat=v1.Heartbeat(seq=seq, sent_at=datetime.now(UTC)))
        await asyncio.sleep(FAST.heartbeat_interval_seconds)


async def test_watch_workers_follows_connect_slots_drain_and_disconnect(channel: object) -> None:
    workers = v1.WorkerServiceStub(channel)  # type: ignore[arg-type]
    events = workers.watch_workers(v1.WatchWorkersRequest())
    assert await anext(events) == v1.WorkerEvent(listed=True)
    worker = ScriptedWorker(workers, "w1", slots=2, zone="a")
    await worker.next("welcome")
    beating = asyncio.create_task(heartbeats(worker))
    info = await next_worker(events, id="w1", live=True)
    assert (info.slots_total, dict(info.labels)) == (2, {"zone": "a"})
    job = await submit(channel, "sleep", "9")
    await worker.next("run_job")
    assert (await next_worker(events, id="w1", slots_used=1)).live
    # Heartbeats keep coming; the feed sends the worker again with its fresher age and RTT.
    assert (await next_worker(events, id="w1")).heartbeat_age_seconds < 5
    await workers.drain_worker(v1.DrainWorkerRequest(id="w1", stay=True))
    await next_worker(events, id="w1", draining=True)
    worker.send(
        finished=v1.Finished(job_id=job.id, attempt=1, outcome=v1.AttemptOutcome.SUCCEEDED, exit_code=0)
    )
    await next_worker(events, id="w1", slots_used=0)
    beating.cancel()
    worker.close()
    gone = await next_worker(events, id="w1", live=False)
    assert gone.draining
    # A watcher that comes later still sees the worker, as disconnected.
    late = workers.watch_workers(v1.WatchWorkersRequest())
    first = (await anext(late)).worker
    assert first is not None and (first.id, first.live, first.draining) == ("w1", False, True)
