"""LogStore on real PostgreSQL: batches in one round trip, each seq stored once, paging by seq."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from hodei_api import v1
from hodeid.store.jobs import JobStore
from hodeid.store.logs import LogStore


def lines(first: int, count: int, stream: v1.LogStream = v1.LogStream.STDOUT) -> list[v1.LogLine]:
    now = datetime.now(UTC)
    return [
        v1.LogLine(seq=s, stream=stream, data=f"line {s}\n".encode(), ts=now, attempt=1)
        for s in range(first, first + count)
    ]


async def test_append_is_idempotent_and_read_pages_in_order(pool: asyncpg.Pool) -> None:
    job, _ = await JobStore(pool).insert(v1.JobSpec(name="t", command=["true"]))
    logs = LogStore(pool)
    await logs.append(job.id, lines(1, 10))
    await logs.append(job.id, lines(5, 10))  # a replay overlapping what is stored
    first = await logs.read(job.id, 0, 8)
    rest = await logs.read(job.id, first[-1].seq, 100)
    assert [line.seq for line in first + rest] == list(range(1, 15))
    assert rest[-1].data == b"line 14\n" and rest[-1].stream is v1.LogStream.STDOUT


async def test_bytes_that_are_not_utf8_survive(pool: asyncpg.Pool) -> None:
    job, _ = await JobStore(pool).insert(v1.JobSpec(name="t", command=["true"]))
    logs = LogStore(pool)
    raw = v1.LogLine(seq=1, stream=v1.LogStream.STDERR, data=b"\xff\x00bin\n", ts=datetime.now(UTC))
    await logs.append(job.id, [raw])
    [back] = await logs.read(job.id, 0, 10)
    assert (back.data, back.stream) == (b"\xff\x00bin\n", v1.LogStream.STDERR)
