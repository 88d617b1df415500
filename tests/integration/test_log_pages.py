"""Followers of one job share the pages of its history they read from PostgreSQL: one query a
page however many read it at once or a little later, a bounded memory for the pages kept, and
no line lost for a page read while the job was writing."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from typing import Any

import asyncpg
from grpclib.client import Channel

from hodei_api import v1
from hodei_api.loglines import pack, seq_numbers
from hodeid.control.daemon import Daemon
from hodeid.control.follow import PAGE, follow
from hodeid.control.loghub import LogHub
from hodeid.store.jobs import JobStore
from hodeid.store.logpages import PageCache, page_bytes
from hodeid.store.logs import LogStore
from hodeid.store.queries import Q
from tests.integration.test_log_store import MIB, lines, new_job


async def history(jobs: JobStore, logs: LogStore, job_id: str, after_seq: int = 0) -> bytes:
    """What ``job logs`` (not following) sends of the lines after ``after_seq``: their data."""
    got = b""
    follower = follow(jobs, logs, LogHub(MIB, MIB), job_id, after_seq, live=False, page_bytes=MIB)
    async for page, _ in follower:
        got += (page or v1.LogLines()).data
    return got


def data_of(first: int, last: int) -> bytes:
    return b"".join(f"line {s}\n".encode() for s in range(first, last + 1))


async def test_concurrent_followers_share_one_query_a_page(pool: asyncpg.Pool) -> None:
    jobs, logs = JobStore(pool), LogStore(pool)
    job, _ = await new_job(jobs)
    await logs.append(job.id, pack(lines(1, 3 * PAGE)))
    got = await asyncio.gather(*(history(jobs, logs, job.id) for _ in range(10)))
    assert all(g == data_of(1, 3 * PAGE) for g in got)
    # Three pages and the empty read that ends them, each asked once for all ten followers.
    assert logs.queries == 4


async def test_a_follower_a_little_behind_reads_kept_pages(pool: asyncpg.Pool) -> None:
    jobs, logs = JobStore(pool), LogStore(pool)
    job, _ = await new_job(jobs)
    await logs.append(job.id, pack(lines(1, 2 * PAGE + 5)))
    assert await history(jobs, logs, job.id) == data_of(1, 2 * PAGE + 5)
    assert logs.queries == 4
    assert await history(jobs, logs, job.id) == data_of(1, 2 * PAGE + 5)
    assert logs.queries == 5  # only the empty read that ends a history is never kept
    # One starting inside a page reads up to that page's end, then the pages kept.
    assert await history(jobs, logs, job.id, after_seq=7) == data_of(8, 2 * PAGE + 5)
    assert logs.queries == 7


async def test_a_page_read_while_the_job_writes_loses_no_line(pool: asyncpg.Pool) -> None:
    jobs, logs = JobStore(pool), LogStore(pool)
    job, _ = await new_job(jobs)
    await logs.append(job.id, pack(lines(1, 50)))
    assert seq_numbers(await logs.read(job.id, 0, PAGE, MIB)) == tuple(range(1, 51))  # kept, short
    await logs.append(job.id, pack(lines(51, 50)))
    # The kept page of 50 lines, then the page after its last line, read now.
    assert await history(jobs, logs, job.id) == data_of(1, 100)


async def test_readers_while_the_job_writes_get_every_line(pool: asyncpg.Pool) -> None:
    jobs, logs = JobStore(pool), LogStore(pool)
    job, _ = await new_job(jobs)
    last = 300 * 100

    async def write() -> None:
        for first in range(1, last, 300):
            await logs.append(job.id, pack(lines(first, 300)))

    async def read() -> bytes:
        got, after_seq = b"", 0
        while after_seq < last:
            page = await logs.read(job.id, after_seq, PAGE - after_seq % PAGE, MIB)
            if seqs := seq_numbers(page):
                got, after_seq = got + page.data, seqs[-1]
            else:
                await asyncio.sleep(0.001)  # the job has not written more yet
        return got

    writer = asyncio.create_task(write())
    got = await asyncio.gather(*(read() for _ in range(5)))
    await writer
    assert all(g == data_of(1, last) for g in got)


async def test_the_pages_kept_never_exceed_their_bytes(pool: asyncpg.Pool) -> None:
    jobs, logs = JobStore(pool), LogStore(pool)
    job, _ = await new_job(jobs)
    await logs.append(job.id, pack(lines(1, 5000)))
    one = page_bytes(await logs.read(job.id, 1000, 100, MIB))  # of lines 1001 to 1100, as long as the next
    logs.kept = PageCache(capacity=3 * one + one // 2)
    for after_seq in range(1000, 4900, 100):
        await logs.read(job.id, after_seq, 100, MIB)
        assert logs.kept.used <= logs.kept.capacity
    assert logs.kept.used == 3 * one  # the three last pages
    queries = logs.queries
    await logs.read(job.id, 4800, 100, MIB)  # kept
    await logs.read(job.id, 1000, 100, MIB)  # dropped long ago
    assert logs.queries == queries + 1
    # A page bigger than all the room is read but not kept.
    logs.kept = PageCache(capacity=one // 2)
    await logs.read(job.id, 1000, 100, MIB)
    assert logs.kept.used == 0


async def test_a_reader_that_goes_does_not_cancel_the_read_others_wait_for(pool: asyncpg.Pool) -> None:
    jobs, logs = JobStore(pool), LogStore(pool)
    job, _ = await new_job(jobs)
    await logs.append(job.id, pack(lines(1, 10)))
    first = asyncio.create_task(logs.read(job.id, 0, PAGE, MIB))
    second = asyncio.create_task(logs.read(job.id, 0, PAGE, MIB))
    await asyncio.sleep(0)  # both wait for the one query
    first.cancel()
    assert seq_numbers(await second) == tuple(range(1, 11))
    assert first.cancelled() and logs.queries == 1


def plan_nodes(plan: dict[str, Any]) -> list[str]:
    return [plan["Node Type"], *(n for p in plan.get("Plans", []) for n in plan_nodes(p))]


async def test_a_page_is_read_by_the_ordered_index_scan_however_stale_the_statistics(
    pool: asyncpg.Pool,
) -> None:
    # Lines just stored, not analyzed: the planner's estimate is far below what matches.
    jobs, logs = JobStore(pool), LogStore(pool)
    job, _ = await new_job(jobs)
    await logs.append(job.id, pack(lines(1, 3 * PAGE)))
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute(Q["plan_read_log_lines"])
        explained = await conn.fetchval(
            "EXPLAIN (FORMAT JSON) " + Q["read_log_lines"], uuid.UUID(job.id), PAGE, PAGE, MIB
        )
    nodes = plan_nodes(json.loads(explained)[0]["Plan"])
    assert "Index Scan" in nodes
    assert not {"Bitmap Heap Scan", "Seq Scan", "Sort"} & set(nodes), nodes


async def test_followers_over_grpc_get_the_same_bytes_from_one_query_a_page(
    daemon: Daemon, connect: Callable[..., Channel]
) -> None:
    job, _ = await new_job(daemon.jobs)
    await daemon.logs.append(job.id, pack(lines(1, 3 * PAGE)))
    queries = daemon.logs.queries

    async def read(channel: Channel) -> bytes:
        got = b""
        async for chunk in v1.LogServiceStub(channel).stream_logs(v1.StreamLogsRequest(job_id=job.id)):
            got += (chunk.lines or v1.LogLines()).data
        return got

    # A connection each, as ten `hodei job logs` processes would have.
    got = await asyncio.gather(*(read(connect()) for _ in range(10)))
    assert all(g == data_of(1, 3 * PAGE) for g in got)
    assert daemon.logs.queries - queries == 4
