"""The agent against a real grpclib server on loopback playing the daemon."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest

from hodei_api import v1
from hodei_api.backoff import Backoff
from hodei_worker.agent import STOP_GRACE, VERSION, Agent
from tests.support.fake_daemon import DaemonStream, FakeDaemon, batch_lines, free_port, now, serve, settings
from tests.support.procfs import kill_group, wait_for_group, wait_group_gone

Outcome = v1.AttemptOutcome
OUT, ERR = v1.LogStream.STDOUT, v1.LogStream.STDERR


@pytest.fixture
async def daemon() -> AsyncIterator[FakeDaemon]:
    async with serve() as daemon:
        yield daemon


def quick(addr: str, **overrides: object) -> Agent:
    """An agent that retries within tenths of a second."""
    return Agent(settings(addr, **overrides), backoff=Backoff(base=0.05, cap=0.2), hostname="host-1")


def run_job(job_id: str, *command: str, first_seq: int = 1, **spec: Any) -> v1.RunJob:
    return v1.RunJob(
        job_id=job_id, attempt=1, spec=v1.JobSpec(command=list(command), **spec), first_seq=first_seq
    )


async def connected(daemon: FakeDaemon, interval: float = 5.0) -> tuple[DaemonStream, v1.Hello]:
    stream = await daemon.next_stream()
    hello: v1.Hello = await stream.next("hello")
    stream.welcome(interval)
    return stream, hello


async def test_hello_then_a_job_reported_in_order(
    daemon: FakeDaemon, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="hodei_worker")
    async with quick(daemon.addr):
        stream, hello = await connected(daemon)
        assert hello == v1.Hello(
            worker_id="w-test",
            hostname="host-1",
            labels={"zone": "test"},
            slots=2,
            resources=v1.Resources(cpu=2.0, memory_mb=512),
            running=[],
            version=VERSION,
            token="",
            incarnation=hello.incarnation,
            stream=1,
        )
        assert len(hello.incarnation) == 16
        stream.send(run_job=run_job("job-1", "sh", "-c", "echo hi; echo err >&2; exit 3"))
        accepted: v1.Accepted = await stream.next("accepted")
        assert (accepted.job_id, accepted.attempt) == ("job-1", 1) and accepted.pid > 0
        lines, finished = await stream.until_finished()
        assert sorted((line.seq, line.stream, line.data) for line in lines) in (
            [(1, OUT, b"hi\n"), (2, ERR, b"err\n")],
            [(1, ERR, b"err\n"), (2, OUT, b"hi\n")],
        )
        assert (finished.outcome, finished.exit_code, finished.signal) == (Outcome.FAILED, 3, None)
        assert (finished.job_id, finished.last_seq) == ("job-1", 2)
    assert "connected to 127.0.0.1:" in caplog.text and "as w-test (slots 2)" in caplog.text


async def test_join_token_goes_in_hello(daemon: FakeDaemon) -> None:
    async with quick(daemon.addr, join_token="secret"):
        stream = await daemon.next_stream()
        hello: v1.Hello = await stream.next("hello")
        assert hello.token == "secret"
        stream.welcome()


async def test_rejects_beyond_its_slots_and_cancels_on_request(daemon: FakeDaemon) -> None:
    async with quick(daemon.addr, slots=1) as agent:
        stream, _ = await connected(daemon)
        stream.send(run_job=run_job("job-1", "sh", "-c", "sleep 100 & sleep 100"))
        accepted: v1.Accepted = await stream.next("accepted")
        try:
            stream.send(run_job=run_job("job-2", "true"))
            rejected: v1.Rejected = await stream.next("rejected")
            assert (rejected.job_id, rejected.reason) == ("job-2", "all 1 slots are busy")
            await wait_for_group(accepted.pid, 3)
            stream.send(cancel=v1.CancelAttempt(job_id="job-1", attempt=1, grace_seconds=5, reason="by test"))
            _, finished = await stream.until_finished()
            assert (finished.outcome, finished.signal) == (Outcome.CANCELLED, 15)
            assert finished.reason == "by test; killed by signal 15 (SIGTERM)"
            await wait_group_gone(accepted.pid)
            assert len(agent.attempts) == 0
        finally:
            kill_group(accepted.pid)


async def test_heartbeats_echo_and_measure_the_round_trip(daemon: FakeDaemon) -> None:
    async with quick(daemon.addr) as agent:
        stream, _ = await connected(daemon, interval=0.5)
        first: v1.Heartbeat = await stream.next("heartbeat")
        assert (first.seq, first.echo_seq, first.echo_sent_at, first.running) == (1, 0, None, 0)
        assert first.sent_at is not None
        ours = now()
        stream.send(
            heartbeat=v1.Heartbeat(seq=7, sent_at=ours, echo_seq=first.seq, echo_sent_at=first.sent_at)
        )
        while True:
            beat: v1.Heartbeat = await stream.next("heartbeat")
            if beat.echo_seq == 7:
                break
        assert beat.echo_sent_at == ours
        assert agent.rtt is not None and 0 <= agent.rtt < 5


async def test_a_silent_daemon_counts_as_gone(daemon: FakeDaemon, caplog: pytest.LogCaptureFixture) -> None:
    async with quick(daemon.addr):
        _, first = await connected(daemon, interval=0.1)  # then nothing more from the daemon
        second = await daemon.next_stream(timeout=5)
        again: v1.Hello = await second.next("hello")
        second.welcome()
    # The daemons can tell the newer Hello of the two.
    assert (again.incarnation, again.stream) == (first.incarnation, first.stream + 1)
    assert "nothing from the daemon for 0.3 s; reconnecting in" in caplog.text


async def test_output_made_while_disconnected_is_replayed_after_welcome(daemon: FakeDaemon) -> None:
    async with quick(daemon.addr):
        first, _ = await connected(daemon)
        first.send(run_job=run_job("job-1", "sh", "-c", "echo one; sleep 0.3; echo two; exit 4"))
        await first.next("accepted")
        first.hang_up()
        second = await daemon.next_stream()
        hello: v1.Hello = await second.next("hello")
        # Hold the Welcome until the job has ended: its Finished waits in the outbox.
        await asyncio.sleep(0.6)
        second.welcome()
        lines, finished = await second.until_finished()
        assert [r.job_id for r in hello.running] == ["job-1"]
        before = [line for m in first.log for line in batch_lines(m)]
        assert sorted({line.seq: line.data for line in before + lines}.items()) == [
            (1, b"one\n"),
            (2, b"two\n"),
        ]
        assert (finished.exit_code, finished.last_seq) == (4, 2)


async def test_what_the_daemon_did_not_acknowledge_is_sent_again_on_the_next_stream(
    daemon: FakeDaemon,
) -> None:
    daemon.acknowledges = False  # a daemon that received everything but stored nothing
    async with quick(daemon.addr):
        first, _ = await connected(daemon)
        first.send(run_job=run_job("job-1", "sh", "-c", "echo one; echo two; exit 3"))
        accepted: v1.Accepted = await first.next("accepted")
        sent, finished = await first.until_finished()
        assert [line.data for line in sent] == [b"one\n", b"two\n"]
        daemon.acknowledges = True
        first.hang_up()
        second = await daemon.next_stream()
        hello: v1.Hello = await second.next("hello")
        assert [r.job_id for r in hello.running] == ["job-1"]
        second.welcome()
        assert await second.next("accepted") == accepted
        again, finished_again = await second.until_finished()
        assert (again, finished_again) == (sent, finished)
        # All acknowledged now: the third stream gets nothing of it.
        second.hang_up()
        third = await daemon.next_stream()
        assert (await third.next("hello")).running == []


async def test_hello_lists_attempts_still_running(daemon: FakeDaemon) -> None:
    async with quick(daemon.addr):
        first, _ = await connected(daemon)
        first.send(run_job=run_job("job-1", "sh", "-c", "echo one; sleep 100", first_seq=11))
        accepted: v1.Accepted = await first.next("accepted")
        try:
            await first.next("log_batch")
            first.hang_up()
            _, hello = await connected(daemon)
            assert hello.running == [v1.RunningAttempt(job_id="job-1", attempt=1, last_seq=11)]
        finally:
            kill_group(accepted.pid)


async def test_stale_attempts_are_killed_and_forgotten(daemon: FakeDaemon) -> None:
    async with quick(daemon.addr) as agent:
        first, _ = await connected(daemon)
        first.send(run_job=run_job("job-1", "sh", "-c", "while :; do echo tick; sleep 0.05; done"))
        accepted: v1.Accepted = await first.next("accepted")
        try:
            first.hang_up()
            second = await daemon.next_stream()
            hello: v1.Hello = await second.next("hello")
            second.welcome(stale=list(hello.running))
            await wait_group_gone(accepted.pid)
            assert len(agent.attempts) == 0
            second.send(run_job=run_job("job-2", "echo", "after"))
            await second.next("accepted")  # nothing of job-1 came first
            lines, finished = await second.until_finished()
            assert finished.job_id == "job-2" and [line.data for line in lines] == [b"after\n"]
        finally:
            kill_group(accepted.pid)


async def test_drain_refuses_new_jobs_and_exits_once_idle(daemon: FakeDaemon) -> None:
    agent = quick(daemon.addr)
    task = asyncio.create_task(agent.run())
    stream, _ = await connected(daemon)
    stream.send(run_job=run_job("job-1", "sh", "-c", "sleep 0.3; echo done"))
    await stream.next("accepted")
    stream.send(drain=v1.Drain(stay=False))
    stream.send(run_job=run_job("job-2", "true"))
    rejected: v1.Rejected = await stream.next("rejected")
    assert rejected.reason == "the worker is draining"
    lines, finished = await stream.until_finished()
    assert finished.job_id == "job-1" and [line.data for line in lines] == [b"done\n"]
    await stream.ended()
    await asyncio.wait_for(task, 10)


async def test_drain_with_stay_keeps_the_stream(daemon: FakeDaemon) -> None:
    async with quick(daemon.addr) as agent:
        stream, _ = await connected(daemon, interval=1.0)
        stream.send(drain=v1.Drain(stay=True))
        await stream.next("heartbeat")
        await asyncio.sleep(0.3)
        assert agent.session is not None and agent.draining
        assert daemon.streams.empty()


async def test_stop_cancels_running_jobs_and_reports_them(daemon: FakeDaemon) -> None:
    agent = quick(daemon.addr)
    task = asyncio.create_task(agent.run())
    stream, _ = await connected(daemon)
    stream.send(run_job=run_job("job-1", "sleep", "100"))
    accepted: v1.Accepted = await stream.next("accepted")
    try:
        agent.stop()
        agent.stop()  # idempotent
        _, finished = await stream.until_finished()
        assert (finished.outcome, finished.signal) == (Outcome.CANCELLED, 15)
        assert finished.reason == "the worker is shutting down; killed by signal 15 (SIGTERM)"
        await stream.ended()
        await asyncio.wait_for(task, 10)
    finally:
        kill_group(accepted.pid)


async def test_keeps_trying_until_the_daemon_appears(caplog: pytest.LogCaptureFixture) -> None:
    port = free_port()
    agent = quick(f"127.0.0.1:{port}")
    task = asyncio.create_task(agent.run())
    await asyncio.sleep(0.5)
    assert "cannot reach 127.0.0.1:" in caplog.text and "reconnecting in" in caplog.text
    async with serve(port) as daemon:
        stream, hello = await connected(daemon)
        assert hello.worker_id == "w-test"
        stream.send(run_job=run_job("job-1", "echo", "hi"))
        await stream.next("accepted")
        lines, _ = await stream.until_finished()
        assert [line.data for line in lines] == [b"hi\n"]
        agent.stop()
        await asyncio.wait_for(task, 10)


async def test_100_000_lines_through_the_stream(daemon: FakeDaemon) -> None:
    count = 100_000
    async with quick(daemon.addr):
        stream, _ = await connected(daemon)
        script = f"import sys; sys.stdout.writelines(f'{{i}}\\n' for i in range({count}))"
        stream.send(run_job=run_job("job-1", sys.executable, "-c", script))
        await stream.next("accepted")
        lines, finished = await stream.until_finished(timeout=60)
        assert [line.seq for line in lines] == list(range(1, count + 1))
        assert finished.last_seq == count
        batches = sum(1 for m in stream.log if m.log_batch is not None)
        assert batches <= count // 1000 + 5


async def test_stopped_before_it_ran_it_does_not_connect(daemon: FakeDaemon) -> None:
    agent = quick(daemon.addr)
    agent.stop()
    await asyncio.wait_for(agent.run(), 5)
    assert daemon.streams.empty()


async def test_stop_does_not_wait_on_a_daemon_that_never_closes_its_side(daemon: FakeDaemon) -> None:
    # A daemon that is itself shutting down may never end the stream: the worker reports,
    # closes its side, and exits after STOP_GRACE instead of a heartbeat timeout (15 s here).
    daemon.answers_close = False
    agent = quick(daemon.addr)
    task = asyncio.create_task(agent.run())
    stream, _ = await connected(daemon)
    while agent.session is None or agent.session.welcomed_at is None:
        await asyncio.sleep(0.01)
    agent.stop()
    await asyncio.wait_for(task, STOP_GRACE + 5)
    stream.hang_up()
