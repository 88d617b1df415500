"""Seeing several daemons on one database (issue 13, "seeing it"): each lists every daemon
with its lease, its workers and which one leads, and says which answered; worker listings and
watches show every daemon's workers and where each streams, while placement stays with the
daemon that holds the stream; each decision names the daemon that made it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from grpclib.client import Channel
from grpclib.const import Status
from grpclib.exceptions import GRPCError

from hodei_api import v1
from hodeid.control.daemon import Daemon
from hodeid.domain.access import Role
from tests.integration.conftest import StartDaemon
from tests.support.auth import channel_for
from tests.support.scripted_worker import FAST, ScriptedWorker, submit

# Leases renewed every second, so a change of lead shows within the test's deadlines;
# heartbeats far apart: the scripted workers send none.
SETTINGS = FAST.model_copy(update={"lease_seconds": 3.0, "heartbeat_interval_seconds": 10.0})


@asynccontextmanager
async def streams(daemon: Daemon) -> AsyncIterator[Callable[..., Awaitable[ScriptedWorker]]]:
    """Open worker streams to ``daemon``: ``await connect(worker_id, **labels)`` (its Welcome
    read); they are held open (a stream nobody refers to is closed when collected) until the
    block ends."""
    held: list[ScriptedWorker] = []
    async with channel_for(daemon, role=None) as channel:

        async def connect(worker_id: str, **labels: str) -> ScriptedWorker:
            worker = ScriptedWorker(v1.WorkerServiceStub(channel), worker_id, 2, **labels)
            await worker.next("welcome")
            held.append(worker)
            return worker

        yield connect


async def listed(daemon: Daemon, role: Role = Role.READ) -> v1.ListDaemonsResponse:
    async with channel_for(daemon, role=role, name=f"list-{uuid.uuid4()}") as channel:
        return await v1.DaemonServiceStub(channel).list_daemons(v1.ListDaemonsRequest())


async def test_each_daemon_lists_every_daemon_its_workers_the_leader_and_which_answered(
    start_daemon: StartDaemon,
) -> None:
    a = await start_daemon(SETTINGS)
    b = await start_daemon(SETTINGS)
    async with streams(a) as to_a, streams(b) as to_b:
        await to_a("w-a")
        await to_b("w-b")
        for asked, other in ((a, b), (b, a)):
            answer = await listed(asked)
            assert answer.answered_by == asked.id
            seen = {d.id: d for d in answer.daemons}
            assert [d.id for d in answer.daemons] == [a.id, b.id], "oldest first"
            assert (seen[a.id].address, seen[b.id].address) == ("test-0", "test-1")
            assert (seen[a.id].workers, seen[b.id].workers) == (["w-a"], ["w-b"])
            assert (seen[a.id].leader, seen[b.id].leader) == (True, False), f"as {asked.lease.address} says"
            assert all(d.live and d.stopped_at is None for d in seen.values())
            assert {d.version for d in seen.values()} == {a.lease.version}
            assert 0 <= seen[other.id].lease_age_seconds < SETTINGS.lease_seconds


async def test_when_the_leader_stops_the_other_is_listed_as_leader_and_it_as_stopped(
    start_daemon: StartDaemon,
) -> None:
    a = await start_daemon(SETTINGS)
    b = await start_daemon(SETTINGS)
    await a.stop()
    async with asyncio.timeout(30):
        while not b.lease.leading:
            await asyncio.sleep(0.05)
    c = await start_daemon(SETTINGS)
    seen = {d.id: d for d in (await listed(c)).daemons}
    assert (seen[a.id].live, seen[a.id].leader, seen[a.id].stopped_at is not None) == (False, False, True)
    assert (seen[b.id].leader, seen[c.id].leader) == (True, False), "c reads b's lead from the record"


async def test_a_read_token_lists_daemons_and_no_token_is_refused(start_daemon: StartDaemon) -> None:
    a = await start_daemon(SETTINGS)
    assert [d.id for d in (await listed(a, Role.READ)).daemons] == [a.id]
    async with channel_for(a, role=None) as channel:
        with pytest.raises(GRPCError) as refused:
            await v1.DaemonServiceStub(channel).list_daemons(v1.ListDaemonsRequest())
    assert refused.value.status is Status.UNAUTHENTICATED


async def test_worker_list_shows_the_other_daemons_workers_from_the_record(start_daemon: StartDaemon) -> None:
    a = await start_daemon(SETTINGS)
    b = await start_daemon(SETTINGS)
    async with streams(a) as to_a, streams(b) as to_b, channel_for(a) as channel:
        await to_a("w-a", zone="a")
        on_b = await to_b("w-b", zone="b")
        await submit(channel, "sleep", "9", selector=["zone=b"])
        await on_b.next("run_job")
        workers = (await v1.WorkerServiceStub(channel).list_workers(v1.ListWorkersRequest())).workers
    mine, theirs = workers
    assert (mine.id, mine.daemon_id, mine.from_record, mine.live) == ("w-a", a.id, False, True)
    assert (theirs.id, theirs.daemon_id, theirs.from_record, theirs.live) == ("w-b", b.id, True, True)
    assert (theirs.slots_total, theirs.slots_used, dict(theirs.labels)) == (2, 1, {"zone": "b"})
    assert theirs.resources_total == v1.Resources(cpu=2, memory_mb=1024)


async def test_placement_looks_only_at_the_workers_this_daemon_holds(start_daemon: StartDaemon) -> None:
    a = await start_daemon(SETTINGS)
    b = await start_daemon(SETTINGS)
    async with streams(a) as to_a, streams(b) as to_b, channel_for(a) as channel:
        await to_a("w-a")
        await to_b("w-b")
        job = await submit(channel, "true", selector=["zone=nowhere"])
        explained = await a.explain(job.id)
    assert [v.target for v in explained.decisions[0].verdicts if v.kind == "worker"] == ["w-a"]
    assert explained.decisions[0].daemon_id == a.id, "evaluated now, by the daemon asked"


async def test_a_decision_names_the_daemon_that_made_it_wherever_it_is_read(
    start_daemon: StartDaemon,
) -> None:
    a = await start_daemon(SETTINGS)
    b = await start_daemon(SETTINGS)
    async with streams(b) as to_b, channel_for(a) as channel:
        on_b = await to_b("w-b", zone="b")
        job = await submit(channel, "true", selector=["zone=b"])
        await on_b.next("run_job")
        # The trace is stored once the job is on its way: look until it is there.
        async with asyncio.timeout(30):
            while not (placed := await placed_decisions(channel, job.id)):
                await asyncio.sleep(0.05)
    assert [d.daemon_id for d in placed] == [b.id]


async def placed_decisions(channel: Channel, job_id: str) -> list[v1.Decision]:
    explained = await v1.SchedulerServiceStub(channel).explain_job(v1.ExplainJobRequest(id=job_id))
    return [d for d in explained.decisions if d.outcome is v1.PlacementOutcome.PLACED]


async def next_worker(events: AsyncIterator[v1.WorkerEvent], **fields: object) -> v1.WorkerInfo:
    async with asyncio.timeout(30):
        async for event in events:
            info = event.worker
            if info is not None and all(getattr(info, k) == v for k, v in fields.items()):
                return info
    raise AssertionError("the watch ended")


async def test_a_watch_shows_the_other_daemons_workers_come_and_go(start_daemon: StartDaemon) -> None:
    a = await start_daemon(SETTINGS)
    b = await start_daemon(SETTINGS)
    async with streams(b) as to_b, channel_for(a, role=Role.READ) as channel:
        on_b = await to_b("w-b")
        events = v1.WorkerServiceStub(channel).watch_workers(v1.WatchWorkersRequest())
        first = await next_worker(events, id="w-b")
        assert (first.daemon_id, first.live, first.from_record) == (b.id, True, True)
        await to_b("w-late")
        assert (await next_worker(events, id="w-late")).daemon_id == b.id
        on_b.close()
        assert (await next_worker(events, id="w-b", live=False)).from_record


async def test_a_stream_recorded_while_the_lease_syncs_its_streams_stays_recorded(
    start_daemon: StartDaemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The lease's sync runs between the Hello being recorded and the stream joining the
    # registry; it used to record the new stream as ended, so other daemons (and the leader's
    # reaper) took a live worker for gone.
    a = await start_daemon(SETTINGS)
    b = await start_daemon(SETTINGS)
    record_hello = b.worker_store.record_hello

    async def then_sync(*args: Any) -> int:
        sessions = await record_hello(*args)
        await b.lease.sync_streams()
        return sessions

    monkeypatch.setattr(b.worker_store, "record_hello", then_sync)
    async with streams(b) as to_b:
        await to_b("w-b")
        assert await b.pool.fetchval("SELECT detached_at FROM workers WHERE id = 'w-b'") is None
        assert [w.id for w in await a.workers()] == ["w-b"]
