"""Liveness on the daemon's side: heartbeats both ways with RTT, a silent stream dropped after
three intervals even though TCP holds, its attempt kept for the grace and then LOST."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import asyncpg
import pytest
from grpclib.exceptions import ProtocolError

from hodei_api import v1
from hodeid.control.daemon import Daemon
from tests.support.auth import channel_for
from tests.support.scripted_worker import FAST, ScriptedWorker, submit, wait_state


async def test_heartbeats_echoed_give_the_worker_a_round_trip_time(pool: asyncpg.Pool) -> None:
    daemon = Daemon(pool, FAST.model_copy(update={"heartbeat_interval_seconds": 0.2}))
    await daemon.start()
    try:
        async with channel_for(daemon) as channel:
            workers = v1.WorkerServiceStub(channel)
            worker = ScriptedWorker(workers, "w1")
            await worker.next("welcome")
            beat = (await worker.next("heartbeat")).heartbeat
            assert beat is not None and beat.seq >= 1
            worker.send(
                heartbeat=v1.Heartbeat(
                    seq=1, sent_at=datetime.now(UTC), echo_seq=beat.seq, echo_sent_at=beat.sent_at
                )
            )
            async with asyncio.timeout(30):
                while not (info := (await workers.list_workers(v1.ListWorkersRequest())).workers[0]).rtt_ms:
                    await asyncio.sleep(0.02)
            assert info.rtt_ms > 0 and info.live
            # The daemon echoes ours back the same way, so the worker can measure it too.
            echoed = (await worker.next("heartbeat")).heartbeat
            assert echoed is not None and echoed.echo_seq == 1
            worker.close()
    finally:
        await daemon.stop()


async def test_a_silent_stream_is_dropped_and_its_attempt_lost_after_the_grace(pool: asyncpg.Pool) -> None:
    settings = {"heartbeat_interval_seconds": 0.2, "lost_grace_seconds": 1.0}
    daemon = Daemon(pool, FAST.model_copy(update=settings))
    await daemon.start()
    try:
        async with channel_for(daemon) as channel:
            worker = ScriptedWorker(v1.WorkerServiceStub(channel), "w1")
            await worker.next("welcome")
            job = await submit(channel, "sleep", "100", max_retries=1)
            await worker.next("run_job")
            worker.send(accepted=v1.Accepted(job_id=job.id, attempt=1, pid=1, started_at=datetime.now(UTC)))
            await wait_state(channel, job.id, v1.JobState.RUNNING)
            # Then nothing: no heartbeat, no end of stream. The daemon ends the stream itself
            # (grpclib says so as the end of a call whose requests are not ended yet).
            async with asyncio.timeout(30):
                with pytest.raises(ProtocolError, match="Outgoing stream was not ended"):
                    async for _ in worker.inbox:
                        pass
            retried = await wait_state(channel, job.id, v1.JobState.PENDING)
            assert [a.outcome for a in retried.attempts] == [v1.AttemptOutcome.LOST]
            assert "worker w1 lost: no stream for" in retried.attempts[0].reason
            worker.close()
    finally:
        await daemon.stop()
