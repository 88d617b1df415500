"""``hodeid token revoke`` ends the streams opened with that token at once, on every daemon
sharing the database, and every daemon refuses the token's next call even where it was
verified from memory; other tokens' streams go on."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from grpclib.const import Status
from grpclib.exceptions import GRPCError

from hodei_api import v1
from hodei_api.client import Client
from tests.support.jobs import detach
from tests.support.metrics import scrape
from tests.support.processes import Cluster, free_port, wait_port

# Far less than the time a stream lasts without the fix (until the client gives up).
DEADLINE = 10.0


async def until_listed(events: AsyncIterator[v1.JobEvent]) -> None:
    async with asyncio.timeout(60):
        async for event in events:
            if event.listed:
                return
    raise AssertionError("the watch ended before its listing")


async def ended_by(events: AsyncIterator[object]) -> GRPCError:
    """How the stream ``events`` ends, waiting at most DEADLINE seconds."""
    try:
        async with asyncio.timeout(DEADLINE):
            async for _ in events:
                pass
    except GRPCError as exc:
        return exc
    raise AssertionError("the stream ended without an error")


async def test_a_revoke_ends_the_tokens_streams_on_every_daemon(pair: tuple[Cluster, Cluster]) -> None:
    a, b = pair
    made = a.hodeid("token", "create", "--role", "read", "--name", "dashboard")
    assert made.returncode == 0, made.stderr
    token = made.stdout.decode().strip()
    async with (
        Client(a.addr, token) as read_a,
        Client(b.addr, token) as read_b,
        Client(a.addr, a.admin_token()) as admin_a,
    ):
        jobs_on_a = read_a.jobs.watch_jobs(v1.WatchJobsRequest())
        workers_on_b = read_b.workers.watch_workers(v1.WatchWorkersRequest())
        admins = admin_a.jobs.watch_jobs(v1.WatchJobsRequest())
        await until_listed(jobs_on_a)
        await until_listed(admins)
        first = await anext(workers_on_b)  # its listing: the stream is open
        assert first.listed
        revoked = await asyncio.to_thread(a.hodeid, "token", "revoke", "dashboard")
        assert revoked.returncode == 0, revoked.stderr
        for error in await asyncio.gather(ended_by(jobs_on_a), ended_by(workers_on_b)):
            assert error.status is Status.UNAUTHENTICATED
            assert error.message is not None and "token dashboard" in error.message
            assert "was revoked" in error.message
        # The admin's stream goes on.
        job_id = await asyncio.to_thread(detach, a, "--", "true")
        async with asyncio.timeout(60):
            async for event in admins:
                if event.job is not None and event.job.id == job_id:
                    break
    assert "ended: token dashboard" in a.logs() and "ended: token dashboard" in b.logs()


def cache_hits(port: int) -> float:
    return scrape(port)[("hodei_token_cache_hits_total", ())]


async def test_a_token_verified_from_memory_is_refused_from_its_next_call_after_a_revoke(
    database_url: str, tmp_path: Path
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a, b = Cluster(database_url, tmp_path / "a"), Cluster(database_url, tmp_path / "b")
    metrics = free_port()
    try:
        a.start_daemon()
        wait_port(metrics, b.start_daemon("--metrics-listen", f"127.0.0.1:{metrics}"))
        made = a.hodeid("token", "create", "--role", "read", "--name", "ci")
        assert made.returncode == 0, made.stderr
        token = made.stdout.decode().strip()
        async with Client(b.addr, token) as on_b:
            # B verifies from memory once it hears revocations and has looked the token up once.
            deadline = time.monotonic() + 60
            hits = await asyncio.to_thread(cache_hits, metrics)
            while True:
                await on_b.jobs.list_jobs(v1.ListJobsRequest(limit=1))
                if await asyncio.to_thread(cache_hits, metrics) > hits:
                    break
                assert time.monotonic() < deadline, "daemon B never verified the token from memory"
                await asyncio.sleep(0.1)
            await on_b.jobs.list_jobs(v1.ListJobsRequest(limit=1))
            revoked = await asyncio.to_thread(a.hodeid, "token", "revoke", "ci")
            assert revoked.returncode == 0, revoked.stderr
            with pytest.raises(GRPCError) as refused:
                await on_b.jobs.list_jobs(v1.ListJobsRequest(limit=1))
        assert refused.value.status is Status.UNAUTHENTICATED
        assert refused.value.message is not None and "token ci" in refused.value.message
        assert "was revoked" in refused.value.message
    finally:
        a.close()
        b.close()
