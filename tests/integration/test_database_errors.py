"""Real PostgreSQL errors through a real Daemon's services: a statement the database refuses is
a bug in hodeid (INTERNAL, logged with its traceback, nobody retries); a database that went
away is UNAVAILABLE (worth retrying)."""

from __future__ import annotations

import asyncio
import logging

import asyncpg
import pytest
from grpclib.const import Status
from grpclib.exceptions import GRPCError

from hodei_api import v1
from tests.support.scripted_worker import ScriptedWorker, submit


def _logged_bug(caplog: pytest.LogCaptureFixture, kind: type[BaseException]) -> logging.LogRecord:
    """The one error record with the driver's exception of ``kind`` and its traceback."""
    records = [r for r in caplog.records if r.levelno == logging.ERROR and r.exc_info]
    assert [type(r.exc_info[1]) for r in records if r.exc_info] == [kind]
    assert records[0].exc_text or records[0].exc_info[2] is not None  # type: ignore[index]
    return records[0]


async def test_a_constraint_violation_is_internal_and_logged(
    channel: object, pool: asyncpg.Pool, caplog: pytest.LogCaptureFixture
) -> None:
    await pool.execute("ALTER TABLE jobs ADD CONSTRAINT no_boom CHECK (name <> 'boom')")
    caplog.set_level(logging.ERROR, "hodeid.store")
    with pytest.raises(GRPCError) as refused:
        await submit(channel, "true", name="boom", env={"TOKEN": "s3cret"})
    assert refused.value.status is Status.INTERNAL
    message = refused.value.message or ""
    assert message.startswith("a bug in hodeid: the database refused its request (CheckViolationError 23514:")
    assert '"no_boom"' in message and "retrying will not help" in message
    assert _logged_bug(caplog, asyncpg.CheckViolationError).getMessage() == message
    # PostgreSQL's DETAIL quotes the failing row, env and all: it is neither told nor logged.
    assert "Traceback" in caplog.text and "s3cret" not in caplog.text + message


async def test_an_sql_error_is_internal_and_the_daemon_keeps_scheduling(
    channel: object, pool: asyncpg.Pool, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "hodeid")
    job = await submit(channel, "true")
    await pool.execute("ALTER TABLE jobs RENAME COLUMN created_at TO created")
    jobs = v1.JobServiceStub(channel)  # type: ignore[arg-type]
    with pytest.raises(GRPCError) as refused:
        await jobs.list_jobs(v1.ListJobsRequest())
    assert refused.value.status is Status.INTERNAL
    assert "(UndefinedColumnError 42703: column " in (refused.value.message or "")
    # With a free slot the scheduler's pass hits the same bug: it logs it and keeps going.
    worker = ScriptedWorker(v1.WorkerServiceStub(channel), "w1")  # type: ignore[arg-type]
    await worker.next("welcome")
    async with asyncio.timeout(30):
        while "scheduling pass failed: a bug in hodeid" not in caplog.text:
            await asyncio.sleep(0.02)
    await pool.execute("ALTER TABLE jobs RENAME COLUMN created TO created_at")
    run = (await worker.next("run_job")).run_job
    assert run and run.job_id == job.id
    worker.close()


async def test_a_database_gone_away_is_unavailable(channel: object, pool: asyncpg.Pool) -> None:
    pool.terminate()
    with pytest.raises(GRPCError) as refused:
        await v1.JobServiceStub(channel).list_jobs(v1.ListJobsRequest())  # type: ignore[arg-type]
    assert refused.value.status is Status.UNAVAILABLE
    assert refused.value.message == "the database is unavailable (InterfaceError: pool is closed); try again"
