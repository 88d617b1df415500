"""The decision trace is written off the scheduler's path: a pass hands its decisions over
and goes on, the writes retry while the database is away, and a read of the trace, or a
stopping daemon, waits for what was handed over."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest

from hodei_api import v1
from hodeid.control.daemon import Daemon
from hodeid.control.decisions import DecisionLog
from hodeid.domain.placement import Decision, Outcome, Strategy
from hodeid.store import db
from hodeid.store.decisions import DecisionStore
from tests.support.scripted_worker import FAST

APP = "decision-writer-test"
MARK = 4242.0  # the duration_ms of the decisions these tests make, to tell them from the scheduler's
DEADLINE = 30.0


@asynccontextmanager
async def decisions_locked(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """Another session holds the decisions table in SHARE mode: reads go on, inserts wait."""
    conn = await asyncpg.connect(database_url)
    try:
        async with conn.transaction():
            await conn.execute("LOCK TABLE decisions IN SHARE MODE")
            yield conn
    finally:
        await conn.close()


@pytest.fixture
async def own_pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    """The decision log's pool in these tests: the daemon's own may be all taken by its
    writes waiting for the same lock, and its backends are told apart by name."""
    pool = await db.connect(f"{database_url}?application_name={APP}", min_size=1, max_size=8)
    yield pool
    await pool.close()


async def job_id(daemon: Daemon) -> str:
    job, _ = await daemon.submit(v1.JobSpec(command=["true"], selector=["zone=nowhere"]))
    return job.id


def decision(job: str) -> Decision:
    return Decision(job, Outcome.WAITING, Strategy.FIRST_AVAILABLE, (), None, MARK)


async def stored(conn: asyncpg.Connection | asyncpg.Pool, job: str) -> int:
    query = "SELECT count(*) FROM decisions WHERE job_id = $1 AND duration_ms = $2"
    found: int = await conn.fetchval(query, job, MARK)
    return found


async def waiting_insert(conn: asyncpg.Connection) -> int:
    """The backend of the writer's insert (on ``own_pool``), once it waits for the lock."""
    async with asyncio.timeout(DEADLINE):
        while True:
            pid = await conn.fetchval(
                "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND query ILIKE '%INSERT INTO decisions%' AND datname = current_database() "
                "AND application_name = $1",
                APP,
            )
            if pid is not None:
                return int(pid)
            await asyncio.sleep(0.01)


async def test_a_pass_hands_its_decisions_over_without_waiting_for_their_write(
    daemon: Daemon, own_pool: asyncpg.Pool, database_url: str
) -> None:
    log = DecisionLog(DecisionStore(own_pool), 10, daemon.id)
    job = await job_id(daemon)
    async with decisions_locked(database_url) as locker:
        async with asyncio.timeout(DEADLINE / 3):  # the old, awaited write waited for the lock
            await log.record([decision(job)])
        await waiting_insert(locker)
        assert await stored(locker, job) == 0
    async with asyncio.timeout(DEADLINE):
        history = await log.history(job)
    assert [d.duration_ms for d in history if d.duration_ms == MARK] == [MARK]


async def test_a_write_cut_off_by_the_database_is_made_again_once(
    daemon: Daemon, own_pool: asyncpg.Pool, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    log = DecisionLog(DecisionStore(own_pool), 10, daemon.id)
    job = await job_id(daemon)
    caplog.set_level(logging.WARNING, logger="hodeid.control.decision_writer")
    async with decisions_locked(database_url) as locker:
        async with asyncio.timeout(DEADLINE / 3):
            await log.record([decision(job)])
        # The server ends the writer's connection mid-statement (57P01: unavailable, retried).
        assert await locker.fetchval("SELECT pg_terminate_backend($1)", await waiting_insert(locker))
        async with asyncio.timeout(DEADLINE):
            while "retrying" not in caplog.text:
                await asyncio.sleep(0.01)
    async with asyncio.timeout(DEADLINE):
        await log.writer.flush()
    assert await stored(own_pool, job) == 1


async def test_a_stopping_daemon_stores_the_decisions_handed_over(
    own_pool: asyncpg.Pool, database_url: str
) -> None:
    daemon = Daemon(own_pool, FAST)
    await daemon.start()
    job = await job_id(daemon)
    async with decisions_locked(database_url) as locker:
        async with asyncio.timeout(DEADLINE / 3):
            await daemon.decisions.record([decision(job)])
        await waiting_insert(locker)
        stopping = asyncio.create_task(daemon.stop())
    async with asyncio.timeout(DEADLINE):
        await stopping
    assert await stored(own_pool, job) == 1
