"""Several daemons on one database: an attempt is LOST only when no live worker stream on any
daemon has held it for the grace; leases and the lead are kept by the database; daemons of
different versions do not share a database."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import asyncpg
import pytest
from grpclib.const import Status
from grpclib.exceptions import GRPCError, ProtocolError

from hodei_api import v1
from hodeid.control.daemon import Daemon
from hodeid.control.lease import Lease, VersionMismatch
from hodeid.control.registry import Registry
from hodeid.store.daemons import DaemonStore
from hodeid.store.holders import HolderStore
from hodeid.store.jobs import AttemptEnd
from hodeid.store.leadership import LeaderLock
from tests.integration.conftest import StartDaemon
from tests.support.auth import channel_for
from tests.support.scripted_worker import FAST, ScriptedWorker, submit, wait_state

GRACE = 0.5
# Heartbeats far apart: the scripted workers send none.
SETTINGS = FAST.model_copy(
    update={"lost_grace_seconds": GRACE, "lease_seconds": 3.0, "heartbeat_interval_seconds": 10.0}
)

Start = Callable[..., Awaitable[Daemon]]


@pytest.fixture
def start(start_daemon: StartDaemon) -> Start:
    """Start daemons with SETTINGS, and these changes."""
    return lambda **settings: start_daemon(SETTINGS.model_copy(update=settings))


async def running_on(channel: object, worker_id: str, *running: v1.RunningAttempt) -> ScriptedWorker:
    worker = ScriptedWorker(v1.WorkerServiceStub(channel), worker_id)  # type: ignore[arg-type]
    worker.hello.running = list(running)
    return worker


async def started(on: object, seen_from: object, **spec: object) -> tuple[ScriptedWorker, v1.Job]:
    """A worker w1 on the daemon of channel ``on``, running a new job (RUNNING as
    ``seen_from``'s daemon sees it)."""
    worker = await running_on(on, "w1")
    job = await submit(on, "sleep", "9", **spec)
    await worker.next("run_job")
    worker.send(accepted=v1.Accepted(job_id=job.id, attempt=1, started_at=datetime.now(UTC)))
    await wait_state(seen_from, job.id, v1.JobState.RUNNING)
    return worker, job


def succeed(worker: ScriptedWorker, job_id: str) -> None:
    """The worker reports attempt 1 of ``job_id`` SUCCEEDED."""
    finished = v1.Finished(job_id=job_id, attempt=1, outcome=v1.AttemptOutcome.SUCCEEDED, exit_code=0)
    worker.send(finished=finished)


async def reaped_after_the_grace(daemon: Daemon) -> None:
    """Run ``daemon``'s reaper now, once the grace has passed since the worker left."""
    await asyncio.sleep(GRACE * 2)
    daemon.scheduler._next_reap = 0.0
    await daemon.scheduler.reap_lost()


async def test_a_peer_leaves_alone_the_attempt_a_live_stream_on_another_daemon_holds(start: Start) -> None:
    a = await start()
    b = await start()
    async with channel_for(a, name="on-a") as on_a, channel_for(b, name="on-b") as on_b:
        worker, job = await started(on_a, on_a)
        for daemon in (b, a):
            await reaped_after_the_grace(daemon)
        assert (await wait_state(on_b, job.id, v1.JobState.RUNNING)).attempt == 1
        succeed(worker, job.id)
        done = await wait_state(on_b, job.id, v1.JobState.SUCCEEDED)
        assert [a.outcome for a in done.attempts] == [v1.AttemptOutcome.SUCCEEDED]
        worker.close()


async def test_a_worker_that_moves_to_another_daemon_keeps_its_attempt(
    start: Start, pool: asyncpg.Pool
) -> None:
    a = await start(lost_grace_seconds=60.0)
    b = await start(lost_grace_seconds=60.0)
    async with channel_for(a, name="on-a") as on_a, channel_for(b, name="on-b") as on_b:
        first, job = await started(on_a, on_a)
        first.close()
        moved = await running_on(on_b, "w1", v1.RunningAttempt(job_id=job.id, attempt=1))
        moved.credential = moved.hello.credential = first.credential
        welcome = (await moved.next("welcome")).welcome
        assert welcome is not None and welcome.stale == []
        assert await HolderStore(pool).absent(a.id, True) == [], "B's stream holds it"
        held = await pool.fetchval("SELECT daemon_id FROM attempts WHERE job_id = $1", uuid.UUID(job.id))
        assert held == b.id
        succeed(moved, job.id)
        assert (await wait_state(on_a, job.id, v1.JobState.SUCCEEDED)).attempt == 1
        moved.close()


async def test_a_verdict_reached_before_the_worker_came_back_is_fenced_out(
    start: Start, pool: asyncpg.Pool
) -> None:
    daemon = await start(lost_grace_seconds=60.0)
    async with channel_for(daemon) as channel:
        first, job = await started(channel, channel)
        first.close()
        async with asyncio.timeout(30):
            while not (absent := await HolderStore(pool).absent(daemon.id, True)):
                await asyncio.sleep(0.05)
        [gone] = absent
        back = await running_on(channel, "w1", v1.RunningAttempt(job_id=job.id, attempt=1))
        back.credential = back.hello.credential = first.credential
        await back.next("welcome")
        late = AttemptEnd(job.id, 1, v1.AttemptOutcome.LOST, reason="late", fence=gone.session_id)
        assert await daemon.settler.end([late]) == []
        assert (await wait_state(channel, job.id, v1.JobState.RUNNING)).attempt == 1
        back.close()


async def test_the_leader_settles_the_attempts_of_a_daemon_whose_lease_ran_out(
    start: Start, pool: asyncpg.Pool
) -> None:
    leader = await start()
    holder = await start()
    assert leader.lease.leading and not holder.lease.leading
    async with (
        channel_for(leader, name="on-leader") as on_leader,
        channel_for(holder, name="on-holder") as on_holder,
    ):
        worker, job = await started(on_holder, on_leader, max_retries=1)
        # The holder hangs (its worker's stream stays open): its lease runs out.
        for task in holder._tasks:
            task.cancel()
        await pool.execute("UPDATE daemons SET expires_at = now() WHERE id = $1", holder.id)
        await reaped_after_the_grace(leader)
        again = await wait_state(on_leader, job.id, v1.JobState.PENDING)
        assert again.attempts[0].outcome is v1.AttemptOutcome.LOST
        assert "no stream" in again.attempts[0].reason
        worker.close()


async def test_a_daemon_whose_lease_lapsed_ends_its_worker_streams(start: Start, pool: asyncpg.Pool) -> None:
    daemon = await start(lease_seconds=0.6)
    async with channel_for(daemon) as channel:
        worker = await running_on(channel, "w1")
        await worker.next("welcome")
        # As if the daemon had hung past its lease: the next renewal finds it ran out.
        await pool.execute("UPDATE daemons SET expires_at = now() - interval '1 s' WHERE id = $1", daemon.id)
        with pytest.raises(ProtocolError, match="not ended"):
            async with asyncio.timeout(30):
                async for _ in worker.inbox:
                    pass
        assert not daemon.registry.live()


async def test_daemons_of_another_version_are_refused_naming_both(start: Start, pool: asyncpg.Pool) -> None:
    running = await start()
    newer = Lease(
        DaemonStore(pool), LeaderLock(pool), Registry(), "newer", "10.0.0.2:7070", "99.0", 3.0, lambda: None
    )
    with pytest.raises(VersionMismatch) as refused:
        await newer.acquire()
    assert "hodeid 99.0" in refused.value.message and f"daemon {running.id[:8]}" in refused.value.message
    assert running.lease.version in refused.value.message
    live = [d.id for d in await DaemonStore(pool).list(0) if d.live]
    assert live == [running.id], "the refused daemon holds no lease"


async def test_the_lead_passes_to_another_daemon_when_the_leader_stops(start: Start) -> None:
    first = await start()
    second = await start()
    assert (first.lease.leading, second.lease.leading) == (True, False)
    await first.stop()
    async with asyncio.timeout(30):
        while not second.lease.leading:
            await asyncio.sleep(0.05)


async def test_a_dispatch_the_worker_never_acknowledged_is_requeued_when_it_moves_to_another_daemon(
    start: Start,
) -> None:
    a = await start(lost_grace_seconds=60.0)
    b = await start(lost_grace_seconds=60.0)
    async with channel_for(a, name="on-a") as on_a, channel_for(b, name="on-b") as on_b:
        first = await running_on(on_a, "w1")
        job = await submit(on_a, "sleep", "9")
        # Dispatched, and the stream breaks before the worker accepts it (as when A is killed).
        await first.next("run_job")
        first.close()
        moved = await running_on(on_b, "w1")
        moved.credential = moved.hello.credential = first.credential
        await moved.next("welcome")  # B has judged the worker's attempts by then
        # Never run, so requeued without using a retry, as a dispatch not acknowledged in time.
        judged = await v1.JobServiceStub(on_b).get_job(v1.GetJobRequest(id=job.id))
        assert (judged.state, judged.attempts[0].outcome) != (v1.JobState.FAILED, v1.AttemptOutcome.LOST)
        assert judged.attempts[0].outcome == v1.AttemptOutcome.NOT_ACKNOWLEDGED
        again = (await moved.next("run_job")).run_job
        assert again is not None and again.attempt == 2
        moved.close()


async def test_a_hello_the_worker_gave_up_judges_nothing_its_newer_stream_holds(
    start: Start, pool: asyncpg.Pool
) -> None:
    a = await start(lost_grace_seconds=60.0)
    b = await start(lost_grace_seconds=60.0)
    async with channel_for(a, name="on-a") as on_a, channel_for(b, name="on-b") as on_b:
        # The worker's first Hello, to B, is slow to arrive; the worker gives up on it and opens
        # a second stream, to A, which is sent a job.
        given_up = await running_on(on_b, "w1")
        newer = await running_on(on_a, "w1")
        newer.credential = newer.hello.credential = given_up.credential
        for stream, worker in enumerate((given_up, newer), 1):
            worker.hello.incarnation, worker.hello.stream = "i1", stream
        await newer.next("welcome")
        job = await submit(on_a, "sleep", "9")
        await newer.next("run_job")
        # B takes in the first Hello only now: it must not judge the job the worker was sent
        # on its newer stream ("came back without it"), nor record itself as the worker's.
        with pytest.raises(GRPCError) as refused:
            await given_up.next("welcome")
        assert refused.value.status is Status.FAILED_PRECONDITION
        assert "newer stream" in (refused.value.message or "")
        assert await pool.fetchval("SELECT daemon_id FROM workers WHERE id = 'w1'") == a.id
        newer.send(accepted=v1.Accepted(job_id=job.id, attempt=1, started_at=datetime.now(UTC)))
        succeed(newer, job.id)
        done = await wait_state(on_b, job.id, v1.JobState.SUCCEEDED)
        assert [t.outcome for t in done.attempts] == [v1.AttemptOutcome.SUCCEEDED]
        newer.close()


async def test_a_verdict_on_a_returning_worker_needs_its_stream_to_be_its_newest(
    start: Start, pool: asyncpg.Pool
) -> None:
    daemon = await start(lost_grace_seconds=60.0)
    async with channel_for(daemon) as channel:
        worker, job = await started(channel, channel)
        session_id = await pool.fetchval("SELECT session_id FROM workers WHERE id = 'w1'")
        holders = HolderStore(pool)
        [held] = await holders.held_by("w1", session_id)
        assert (held.job_id, held.attempt, held.started, held.session_id) == (job.id, 1, True, session_id)
        # A stream the worker has since replaced speaks for nothing.
        assert await holders.held_by("w1", "an-older-stream") == []
        worker.close()


async def test_a_job_claimed_for_a_stream_that_ended_meanwhile_is_not_sent_on_the_next(
    start: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    daemon = await start(lost_grace_seconds=60.0)
    async with channel_for(daemon) as channel:
        first = await running_on(channel, "w1")
        await first.next("welcome")
        back: list[ScriptedWorker] = []
        welcomed = asyncio.Event()
        claim = daemon.scheduler.jobs.claim

        async def worker_comes_back_meanwhile(*args: object) -> object:
            # The claim is made for the first stream; before it is dispatched the worker comes
            # back on a new one, whose Hello (without the job) is judged at once.
            claimed = await claim(*args)  # type: ignore[arg-type]
            if claimed and not back:
                first.close()
                back.append(await running_on(channel, "w1"))
                back[0].credential = back[0].hello.credential = first.credential
                await back[0].next("welcome")
                welcomed.set()
            return claimed

        monkeypatch.setattr(daemon.scheduler.jobs, "claim", worker_comes_back_meanwhile)
        job = await submit(channel, "echo", "hi")
        # Attempt 1 was given up when the worker came back without it: it must never reach
        # the worker, or the job would run twice.
        async with asyncio.timeout(30):
            await welcomed.wait()
        run = (await back[0].next("run_job")).run_job
        assert run is not None and (run.job_id, run.attempt) == (job.id, 2)
        back[0].close()


async def test_a_cancel_asked_of_another_daemon_reaches_the_worker(start: Start) -> None:
    a = await start(lost_grace_seconds=60.0)
    b = await start(lost_grace_seconds=60.0)
    async with channel_for(a, name="on-a") as on_a, channel_for(b, name="on-b") as on_b:
        worker, job = await started(on_a, on_b, kill_grace_seconds=3.0)
        await v1.JobServiceStub(on_b).cancel_job(v1.CancelJobRequest(id=job.id, reason="from b"))
        # A's stream holds the attempt: A hears of the cancel and sends it on.
        cancel = (await worker.next("cancel", timeout=10)).cancel
        assert cancel is not None and (cancel.job_id, cancel.attempt) == (job.id, 1)
        assert "from b" in cancel.reason and cancel.grace_seconds == 3.0
        worker.send(
            finished=v1.Finished(job_id=job.id, attempt=1, outcome=v1.AttemptOutcome.CANCELLED, signal=15)
        )
        assert (await wait_state(on_b, job.id, v1.JobState.CANCELLED)).attempt == 1
        worker.close()
