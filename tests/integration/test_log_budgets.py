"""What a log reader may make the daemon hold, on real PostgreSQL: history pages capped in
bytes, and live queues capped in bytes per follower and in total; a follower past a cap
catches up from storage and still gets every line once, in order."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest

from hodei_api import v1
from hodei_api.loglines import Line, micros, pack, seq_numbers, unpack
from hodeid.config import LimitSettings
from hodeid.control.daemon import Daemon
from hodeid.control.follow import Chunk
from hodeid.domain.classes import class_of
from tests.support.scripted_worker import FAST

KIB = 1024
LIMITS = LimitSettings(
    log_page_bytes=256 * KIB, follower_buffer_bytes=16 * KIB, followers_buffer_bytes=32 * KIB
)


@pytest.fixture
async def daemon(pool: asyncpg.Pool) -> AsyncIterator[Daemon]:
    """A daemon with small log limits; not started: the jobs stay PENDING, nobody runs them."""
    daemon = Daemon(pool, FAST, limits=LIMITS)
    yield daemon
    await daemon.stop()


def lines(first: int, count: int, size: int) -> list[Line]:
    """``count`` lines of ``size`` bytes (newline included) from seq ``first``."""
    now = micros(datetime.now(UTC))
    return [
        Line(s, v1.LogStream.STDOUT, b"x" * (size - 1) + b"\n", now, 1) for s in range(first, first + count)
    ]


async def new_job(daemon: Daemon) -> str:
    spec = v1.JobSpec(name="t", command=["true"])
    job, _ = await daemon.jobs.insert(spec, placement_class=class_of(spec))
    return job.id


async def write(daemon: Daemon, job_id: str, batch: list[Line]) -> None:
    """Store and publish one batch, as the daemon does with a worker's LogBatch."""
    await daemon.logs.append(job_id, pack(batch))
    daemon.hub.publish(job_id, pack(batch))


def follower(daemon: Daemon, job_id: str) -> AsyncGenerator[Chunk]:
    return daemon.stream_logs(job_id, 0, live=True)


async def seqs_until(reader: AsyncGenerator[Chunk], last: int) -> list[int]:
    """The seqs ``reader`` yields until it has yielded ``last``."""
    got: list[int] = []
    while not got or got[-1] < last:
        chunk, _ = await anext(reader)
        got += seq_numbers(chunk or v1.LogLines())
    return got


async def test_history_pages_hold_at_most_page_bytes_of_data_and_a_longer_line_alone(
    daemon: Daemon,
) -> None:
    job_id = await new_job(daemon)
    # 40 lines of 64 KiB (2.5 MiB), then one line longer than a page, then short ones.
    await daemon.logs.append(job_id, pack(lines(1, 40, 64 * KIB)))
    await daemon.logs.append(job_id, pack(lines(41, 1, 300 * KIB)))
    await daemon.logs.append(job_id, pack(lines(42, 3, 10)))
    pages = [chunk async for chunk, _ in daemon.stream_logs(job_id, 0, live=False) if chunk is not None]
    assert [line.seq for page in pages for line in unpack(page)] == list(range(1, 45))
    assert [len(seq_numbers(page)) for page in pages] == [4] * 10 + [1, 3]
    assert max(len(page.data) for page in pages if len(seq_numbers(page)) > 1) <= LIMITS.log_page_bytes


async def test_a_follower_over_its_byte_budget_reads_storage_and_misses_nothing(daemon: Daemon) -> None:
    job_id = await new_job(daemon)
    await daemon.logs.append(job_id, pack(lines(1, 10, 100)))
    reader = follower(daemon, job_id)
    assert await seqs_until(reader, 10) == list(range(1, 11))
    # While the follower has not come back for more, the job writes 200 one-line batches of
    # 1 KiB: far more bytes than its 16 KiB queue may hold, far fewer batches than 256.
    for seq in range(11, 211):
        await write(daemon, job_id, lines(seq, 1, KIB))
    assert daemon.hub.overflows == 1
    assert daemon.hub.budget.used == 0  # its queue was dropped: it reads those from storage
    got = await seqs_until(reader, 210)
    # One more line, live, which fits in the queue again: it must not jump a missing one.
    await write(daemon, job_id, lines(211, 1, KIB))
    got += await seqs_until(reader, 211)
    assert got == list(range(11, 212))
    await reader.aclose()
    # The stream ended: the garbage is collected and freed memory handed back, soon after.
    async with asyncio.timeout(10):
        while daemon.hub._subs or not daemon.heap.trims:
            await asyncio.sleep(0.05)


async def test_past_the_total_budget_a_follower_with_unread_lines_reads_storage(daemon: Daemon) -> None:
    jobs = [await new_job(daemon) for _ in range(3)]
    readers = []
    for job_id in jobs:
        await daemon.logs.append(job_id, pack(lines(1, 1, 10)))
        readers.append(follower(daemon, job_id))
        assert await seqs_until(readers[-1], 1) == [1]
    # Two followers queue 15 batches each, under their own 16 KiB: 30 of the 32 KiB in all.
    for seq in range(2, 17):
        for job_id in jobs[:2]:
            await write(daemon, job_id, lines(seq, 1, KIB))
    assert daemon.hub.overflows == 0
    # The third one's first batch fits; its second would go over the total, though its own
    # queue would hold 2 KiB of its 16: its queue is dropped instead.
    await write(daemon, jobs[2], lines(2, 1, KIB))
    await write(daemon, jobs[2], lines(3, 1, KIB))
    assert daemon.hub.overflows == 1
    assert daemon.hub.budget.used == 30 * (KIB + 25)  # 1 KiB of data, 25 bytes of columns
    # Every follower still gets every line once, in order: two from their queues, one from storage.
    for reader in readers[:2]:
        assert await seqs_until(reader, 16) == list(range(2, 17))
    assert await seqs_until(readers[2], 3) == [2, 3]
    for reader in readers:
        await reader.aclose()
    assert daemon.hub.budget.used == 0  # a follower that goes away leaves nothing queued
