"""Point 9 of failure handling, over real gRPC on loopback: a follower too slow for the live
stream is switched to storage and catches up by sequence number; it slows nobody else."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

from grpclib.client import Channel

from hodei_api import v1
from hodei_api.loglines import Line, micros, pack, unpack
from hodeid.control.daemon import Daemon
from hodeid.domain.classes import class_of
from tests.support.scripted_worker import ScriptedWorker, acknowledged, batch, out, submit, wait_state

BATCHES = 400
PER_BATCH = 25


async def read_all(stream: AsyncIterator[v1.LogChunk], pause: asyncio.Event | None = None) -> list[int]:
    """Every seq the follower gets, in order; with ``pause``, it stops reading after the
    first chunk until ``pause`` is set (the HTTP/2 window fills and the daemon cannot send)."""
    seqs: list[int] = []
    async for chunk in stream:
        if chunk.lines is not None:
            seqs.extend(line.seq for line in unpack(chunk.lines))
        if pause is not None:
            await pause.wait()
        if chunk.final_state is not v1.JobState.UNSPECIFIED:
            assert chunk.final_state is v1.JobState.SUCCEEDED
            return seqs
    raise AssertionError("the followed stream ended without the job's final state")


async def test_a_slow_follower_catches_up_from_storage_and_holds_back_no_one(
    daemon: Daemon, connect: Callable[..., Channel]
) -> None:
    loopback = connect()
    worker = ScriptedWorker(v1.WorkerServiceStub(loopback), "w1")
    await worker.next("welcome")
    job = await submit(loopback, "yes")
    await worker.next("run_job")
    worker.send(accepted=v1.Accepted(job_id=job.id, attempt=1, pid=1, started_at=datetime.now(UTC)))
    await wait_state(loopback, job.id, v1.JobState.RUNNING)
    request = v1.StreamLogsRequest(job_id=job.id, follow=True)
    go_on = asyncio.Event()
    # The slow follower takes 64 KiB before it stops reading (HTTP/2's smallest window).
    slow_logs = v1.LogServiceStub(connect(window=2**16 - 1))
    slow = asyncio.create_task(read_all(slow_logs.stream_logs(request), go_on))
    fast = asyncio.create_task(read_all(v1.LogServiceStub(connect()).stream_logs(request)))
    async with asyncio.timeout(10):
        while len(daemon.hub._subs.get(job.id, ())) < 2:
            await asyncio.sleep(0.01)

    text = "x" * 200 + "\n"
    for b in range(BATCHES):
        first = b * PER_BATCH + 1
        worker.send(log_batch=batch(job.id, 1, *(out(first + i, text) for i in range(PER_BATCH))))
        # One batch stored and published at a time, so each is one item in the followers' queues.
        await acknowledged(worker, b + 2)
        worker.send(heartbeat=v1.Heartbeat(seq=b + 1))  # alive, for a slow machine
    total = BATCHES * PER_BATCH
    finished = v1.Finished(
        job_id=job.id, attempt=1, outcome=v1.AttemptOutcome.SUCCEEDED, exit_code=0, last_seq=total
    )
    worker.send(finished=finished)
    # The job ends and the fast follower gets every line while the slow one still reads nothing.
    await wait_state(loopback, job.id, v1.JobState.SUCCEEDED)
    async with asyncio.timeout(30):
        assert await fast == list(range(1, total + 1))
    assert not slow.done()
    assert daemon.hub.overflows >= 1  # the slow one fell off the live stream
    go_on.set()
    async with asyncio.timeout(30):
        assert await slow == list(range(1, total + 1))
    worker.close()


async def test_a_follower_that_goes_away_leaves_nothing_held(
    daemon: Daemon, connect: Callable[..., Channel]
) -> None:
    """A reader that stopped reading, then dropped its connection: its stream's generators
    are closed then, with the page and the queue they held, not whenever the GC runs."""
    spec = v1.JobSpec(name="big", command=["true"])
    job, _ = await daemon.jobs.insert(spec, placement_class=class_of(spec))
    now = micros(datetime.now(UTC))
    big = [Line(s, v1.LogStream.STDOUT, b"x" * (2**16 - 1) + b"\n", now, 1) for s in range(1, 41)]
    await daemon.logs.append(job.id, pack(big))
    channel = connect(window=2**16 - 1)
    request = v1.StreamLogsRequest(job_id=job.id, follow=True)
    stalled = asyncio.create_task(read_all(v1.LogServiceStub(channel).stream_logs(request), asyncio.Event()))
    async with asyncio.timeout(10):
        while not daemon.hub._subs.get(job.id):
            await asyncio.sleep(0.01)
    # Live lines queue for it while it reads nothing.
    for seq in range(41, 51):
        line = Line(seq, v1.LogStream.STDOUT, b"live\n", now, 1)
        await daemon.logs.append(job.id, pack([line]))
        daemon.hub.publish(job.id, pack([line]))
    stalled.cancel()
    channel.close()
    async with asyncio.timeout(10):
        while daemon.hub._subs.get(job.id):
            await asyncio.sleep(0.01)
    assert daemon.hub.budget.used == 0
