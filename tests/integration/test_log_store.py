"""LogStore on real PostgreSQL: batches in one round trip, each seq stored once, paging by seq;
and a follower reading it and the live hub together."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import asyncpg
import pytest

from hodei_api import v1
from hodei_api.loglines import Line, micros, pack, seq_numbers, unpack
from hodeid.control.follow import follow
from hodeid.control.loghub import LogHub
from hodeid.domain.classes import class_of
from hodeid.store.jobs import JobStore
from hodeid.store.logs import LINES_PER_COPY, LogStore

MIB = 2**20


async def new_job(jobs: JobStore) -> tuple[v1.Job, bool]:
    spec = v1.JobSpec(name="t", command=["true"])
    return await jobs.insert(spec, placement_class=class_of(spec))


def lines(first: int, count: int, stream: v1.LogStream = v1.LogStream.STDOUT) -> list[Line]:
    now = micros(datetime.now(UTC))
    return [Line(s, stream, f"line {s}\n".encode(), now, 1) for s in range(first, first + count)]


async def test_append_is_idempotent_and_read_pages_in_order(pool: asyncpg.Pool) -> None:
    job, _ = await new_job(JobStore(pool))
    logs = LogStore(pool)
    await logs.append(job.id, pack(lines(1, 10)))
    await logs.append(job.id, pack(lines(5, 10)))  # a replay overlapping what is stored
    first = unpack(await logs.read(job.id, 0, 8, MIB))
    rest = unpack(await logs.read(job.id, first[-1].seq, 100, MIB))
    assert [line.seq for line in first + rest] == list(range(1, 15))
    assert rest[-1].data == b"line 14\n" and rest[-1].stream is v1.LogStream.STDOUT


async def test_lines_before_the_last_stored_are_stored_too(pool: asyncpg.Pool) -> None:
    # Copying them in meets seqs stored already: they are inserted, the missing ones stored.
    job, _ = await new_job(JobStore(pool))
    logs = LogStore(pool)
    await logs.append(job.id, pack(lines(5, 6)))
    await logs.append(job.id, pack(lines(1, 12)))
    assert seq_numbers(await logs.read(job.id, 0, 100, MIB)) == tuple(range(1, 13))


@pytest.mark.parametrize("count", [500, 3 * LINES_PER_COPY + 1], ids=["one copy", "copies at once"])
async def test_the_same_lines_appended_at_once_are_stored_once(pool: asyncpg.Pool, count: int) -> None:
    # Each copy that meets a seq stored by another is inserted instead.
    job, _ = await new_job(JobStore(pool))
    logs = LogStore(pool)
    await asyncio.gather(*(logs.append(job.id, pack(lines(1, count))) for _ in range(4)))
    stored = unpack(await logs.read(job.id, 0, 2 * count, 64 * MIB))
    assert [line.seq for line in stored] == list(range(1, count + 1))
    assert stored[-1].data == b"line %d\n" % count


async def test_a_batch_stored_in_parts_is_never_read_with_a_part_missing(
    pool: asyncpg.Pool, database_url: str
) -> None:
    """The parts of a big batch commit in order: while the first waits (here for a row lock on
    its first seq), a reader sees none of the second, which would put a gap in a follower."""
    job, _ = await new_job(JobStore(pool))
    logs = LogStore(pool)
    blocker = await asyncpg.connect(database_url)
    try:
        blocking = blocker.transaction()
        await blocking.start()
        await blocker.execute(
            "INSERT INTO log_lines (job_id, seq, attempt, stream, data, ts) "
            "VALUES ($1::uuid, 1, 1, 'STDOUT', 'x', now())",
            job.id,
        )
        append = asyncio.create_task(logs.append(job.id, pack(lines(1, 2 * LINES_PER_COPY))))
        # The second part is copied (in a transaction not committed yet, or committed) while
        # the first waits for the blocker's lock.
        async with asyncio.timeout(30):
            while not await pool.fetchval(
                "SELECT count(*) FILTER (WHERE wait_event_type = 'Lock') = 1"
                " AND (count(*) FILTER (WHERE state = 'idle in transaction') = 2"
                "      OR EXISTS (SELECT FROM log_lines))"
                " FROM pg_stat_activity WHERE datname = current_database()"
            ):
                await asyncio.sleep(0.01)
        assert seq_numbers(await logs.read(job.id, 0, 10, MIB)) == ()
        await blocking.rollback()
        async with asyncio.timeout(30):
            await append
    finally:
        await blocker.close()
    stored = seq_numbers(await logs.read(job.id, 0, 3 * LINES_PER_COPY, 64 * MIB))
    assert stored == tuple(range(1, 2 * LINES_PER_COPY + 1))


async def test_read_past_the_end_is_empty(pool: asyncpg.Pool) -> None:
    job, _ = await new_job(JobStore(pool))
    logs = LogStore(pool)
    await logs.append(job.id, pack(lines(1, 3)))
    assert seq_numbers(await logs.read(job.id, 3, 100, MIB)) == ()


@pytest.mark.parametrize(
    "ts_micros",
    [
        0,
        1_700_000_000_123_457,
        micros(datetime(2999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)),
        -1,  # a clock before 1970 is wrong, but the line is kept as it came
    ],
)
async def test_every_column_comes_back_exactly(pool: asyncpg.Pool, ts_micros: int) -> None:
    job, _ = await new_job(JobStore(pool))
    logs = LogStore(pool)
    sent = [
        Line(1, v1.LogStream.STDERR, b"\xff\x00bin\n", ts_micros, 3),
        Line(2, v1.LogStream.SYSTEM, b"", ts_micros, 4),
        Line(2**40, v1.LogStream.STDOUT, b"x" * 70_000, ts_micros, 5),
    ]
    await logs.append(job.id, pack(sent))
    assert unpack(await logs.read(job.id, 0, 10, MIB)) == sent


async def test_a_follower_that_overflows_while_it_reads_storage_misses_nothing(pool: asyncpg.Pool) -> None:
    # A queue of 4 KiB: about 120 one-line batches.
    jobs, logs, hub = JobStore(pool), LogStore(pool), LogHub(4096, MIB)
    job, _ = await new_job(jobs)
    await logs.append(job.id, pack(lines(1, 10)))
    follower = follow(jobs, logs, hub, job.id, 0, live=True, page_bytes=MIB)
    got = [line.seq for line in unpack((await anext(follower))[0] or v1.LogLines())]
    # While the follower has not come back for more, the job writes one batch at a time,
    # more batches than a follower's queue holds.
    for seq in range(11, 311):
        await logs.append(job.id, pack(lines(seq, 1)))
        hub.publish(job.id, pack(lines(seq, 1)))
    assert hub.overflows == 1  # the last lines did not fit in its queue
    assert hub.budget.used == 0  # the queue was dropped: those lines are read from storage
    while got[-1] < 310:
        got += [line.seq for line in unpack((await anext(follower))[0] or v1.LogLines())]
    # One more line, live, which fits in the queue again: it must not jump the missing ones.
    await logs.append(job.id, pack(lines(311, 1)))
    hub.publish(job.id, pack(lines(311, 1)))
    while got[-1] < 311:
        got += [line.seq for line in unpack((await anext(follower))[0] or v1.LogLines())]
    assert got == list(range(1, 312))
    await follower.aclose()


class ReadCounter(LogStore):
    """The store, noting the last seq of every page read from it."""

    pages: list[int]

    async def read(self, job_id: str, after_seq: int, limit: int, max_bytes: int) -> v1.LogLines:
        page = await super().read(job_id, after_seq, limit, max_bytes)
        self.pages.append(max(seq_numbers(page), default=0))
        return page


async def test_a_follower_goes_live_once_storage_held_what_was_published(pool: asyncpg.Pool) -> None:
    jobs, logs, hub = JobStore(pool), ReadCounter(pool), LogHub(MIB, MIB)
    logs.pages = []
    job, _ = await new_job(jobs)
    for seq in range(1, 101, 10):
        await logs.append(job.id, pack(lines(seq, 10)))
        hub.publish(job.id, pack(lines(seq, 10)))
    # Pages of 64 bytes: about seven lines each.
    follower = follow(jobs, logs, hub, job.id, 0, live=True, page_bytes=64)
    got = [line.seq for line in unpack((await anext(follower))[0] or v1.LogLines())]
    # The job writes on, faster than its follower reads storage.
    for seq in range(101, 201, 10):
        await logs.append(job.id, pack(lines(seq, 10)))
        hub.publish(job.id, pack(lines(seq, 10)))
    while got[-1] < 200:
        got += [line.seq for line in unpack((await anext(follower))[0] or v1.LogLines())]
    assert got == list(range(1, 201))
    # Storage was read up to the lines published before it subscribed; the queue had the rest.
    assert max(logs.pages) < 110
    await follower.aclose()
