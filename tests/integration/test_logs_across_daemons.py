"""Live logs across two real Daemons sharing one database: a follower on daemon B of a job whose
worker streams to daemon A is woken by PostgreSQL's notifications, never by its re-check timer
(set to an hour here), gets every line once and in order, and ends when the job ends on A; a
follower on A, which hears its own lines back, gets each once too."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest

from hodei_api import v1
from hodei_api.loglines import Line, micros, pack, unpack
from hodeid.control import follow
from hodeid.control.daemon import Daemon
from hodeid.control.loghub import LogHub
from hodeid.domain.classes import class_of
from hodeid.store.jobs import JobStore
from hodeid.store.logs import LogStore
from tests.integration.conftest import StartDaemon
from tests.support.auth import channel_for
from tests.support.scripted_worker import ScriptedWorker, batch, out, submit

DEADLINE = 30.0
PAGE_BYTES = 2**20


@pytest.fixture
def no_recheck(monkeypatch: pytest.MonkeyPatch) -> None:
    """Followers never re-read storage on their timer: only notifications can wake them."""
    monkeypatch.setattr(follow, "RECHECK_SECONDS", 3600.0)


@pytest.fixture
async def daemons(start_daemon: StartDaemon) -> tuple[Daemon, Daemon]:
    """Daemons A and B on one database, each with its pools as hodeid gives it."""
    return await start_daemon(), await start_daemon()


async def next_seqs(chunks: AsyncIterator[v1.LogChunk]) -> list[int]:
    """The seqs of the next chunk of lines."""
    async with asyncio.timeout(DEADLINE):
        async for chunk in chunks:
            if chunk.lines is not None and (seqs := [line.seq for line in unpack(chunk.lines)]):
                return seqs
    raise AssertionError("the followed stream ended")


async def rest(chunks: AsyncIterator[v1.LogChunk]) -> tuple[list[int], v1.JobState]:
    """The seqs of the remaining chunks and the final state."""
    seqs: list[int] = []
    async with asyncio.timeout(DEADLINE):
        async for chunk in chunks:
            if chunk.lines is not None:
                seqs.extend(line.seq for line in unpack(chunk.lines))
            if chunk.final_state is not v1.JobState.UNSPECIFIED:
                return seqs, chunk.final_state
    raise AssertionError("the followed stream ended without the job's final state")


@pytest.mark.usefixtures("no_recheck")
async def test_a_follower_on_another_daemon_is_woken_by_each_stored_batch(
    daemons: tuple[Daemon, Daemon],
) -> None:
    a, b = daemons
    async with channel_for(a, name="on-a") as on_a, channel_for(b, name="on-b") as on_b:
        worker = ScriptedWorker(v1.WorkerServiceStub(on_a), "w1")
        await worker.next("welcome")
        job = await submit(on_a, "sh")
        await worker.next("run_job")
        worker.send(accepted=v1.Accepted(job_id=job.id, attempt=1, pid=1, started_at=datetime.now(UTC)))
        request = v1.StreamLogsRequest(job_id=job.id, follow=True)
        on_b_follower = v1.LogServiceStub(on_b).stream_logs(request)
        on_a_follower = v1.LogServiceStub(on_a).stream_logs(request)
        # One line at a time, each sent only once the follower on B has the one before: each
        # reaches it while it waits (after the first, which it may read as history).
        for seq in range(1, 6):
            worker.send(log_batch=batch(job.id, 1, out(seq, f"line {seq}\n")))
            assert await next_seqs(on_b_follower) == [seq]
            assert await next_seqs(on_a_follower) == [seq]
        # Then a burst, a batch big enough to be stored in parts, and the job's end, on A.
        last = 5
        for size in [20] * 50 + [5000]:
            worker.send(log_batch=batch(job.id, 1, *(out(last + i, "x\n") for i in range(1, size + 1))))
            last += size
        worker.send(
            finished=v1.Finished(
                job_id=job.id, attempt=1, outcome=v1.AttemptOutcome.SUCCEEDED, exit_code=0, last_seq=last
            )
        )
        assert await rest(on_b_follower) == (list(range(6, last + 1)), v1.JobState.SUCCEEDED)
        assert await rest(on_a_follower) == (list(range(6, last + 1)), v1.JobState.SUCCEEDED)
        worker.close()


@pytest.mark.usefixtures("no_recheck")
async def test_a_follower_on_another_daemon_ends_when_the_job_ends_there(
    daemons: tuple[Daemon, Daemon],
) -> None:
    a, b = daemons
    async with channel_for(a, name="on-a") as on_a, channel_for(b, name="on-b") as on_b:
        job = await submit(on_a, "sleep", "1000")  # no worker: it waits, PENDING
        request = v1.StreamLogsRequest(job_id=job.id, follow=True)
        follower = asyncio.create_task(rest(v1.LogServiceStub(on_b).stream_logs(request)))
        async with asyncio.timeout(DEADLINE):
            while not b.hub._subs.get(job.id):
                await asyncio.sleep(0.01)
        await v1.JobServiceStub(on_a).cancel_job(v1.CancelJobRequest(id=job.id))
        assert await follower == ([], v1.JobState.CANCELLED)


@pytest.mark.usefixtures("no_recheck")
async def test_lines_stored_while_a_daemon_did_not_listen_reach_its_followers(
    daemons: tuple[Daemon, Daemon], pool: asyncpg.Pool
) -> None:
    a, b = daemons
    async with channel_for(a, name="on-a") as on_a, channel_for(b, name="on-b") as on_b:
        worker = ScriptedWorker(v1.WorkerServiceStub(on_a), "w1")
        await worker.next("welcome")
        job = await submit(on_a, "sh")
        await worker.next("run_job")
        worker.send(accepted=v1.Accepted(job_id=job.id, attempt=1, pid=1, started_at=datetime.now(UTC)))
        follower = v1.LogServiceStub(on_b).stream_logs(v1.StreamLogsRequest(job_id=job.id, follow=True))
        worker.send(log_batch=batch(job.id, 1, out(1, "line 1\n")))
        assert await next_seqs(follower) == [1]
        # A line stored and never announced, then the daemons' listening connections lost.
        await pool.execute(
            "INSERT INTO log_lines (job_id, seq, attempt, stream, data, ts)"
            " VALUES ($1::uuid, 2, 1, 'STDOUT', 'line 2', now())",
            job.id,
        )
        await pool.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND query LIKE 'LISTEN%hodei_logs%'"
        )
        assert await next_seqs(follower) == [2]
        worker.close()


async def test_queued_lines_after_a_gap_come_after_the_stored_lines_before_them(pool: asyncpg.Pool) -> None:
    """A follower that waits for live lines and is handed lines 5 to 6 while 2 to 4 are stored
    but not announced to it yet (stored by another daemon: a worker that moved) reads 2 to 4
    from storage first."""
    jobs, logs, hub = JobStore(pool), LogStore(pool), LogHub(2**20, 2**20)
    spec = v1.JobSpec(command=["true"])
    job, _ = await jobs.insert(spec, placement_class=class_of(spec))
    now = micros(datetime.now(UTC))
    lines = {seq: pack([Line(seq, v1.LogStream.STDOUT, f"{seq}\n".encode(), now, 1)]) for seq in range(1, 7)}
    await logs.append(job.id, lines[1])
    sub = hub.subscribe(job.id)
    for seq in range(2, 7):
        await logs.append(job.id, lines[seq])
    hub.publish(job.id, pack([*unpack(lines[5]), *unpack(lines[6])]))
    hub.finish(job.id, v1.JobState.SUCCEEDED)
    live = follow._live(jobs, logs, sub, 1, PAGE_BYTES)
    got = [line.seq async for page, _ in live for line in unpack(page)]
    assert got == [2, 3, 4, 5, 6]
