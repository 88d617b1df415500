"""The gRPC services of a real Daemon served as hodeid serves them, with a worker stream
driven by the test: dispatch, acknowledgement, logs, results, fencing and followers."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from grpclib.const import Status
from grpclib.exceptions import GRPCError

from hodei_api import v1
from tests.support.scripted_worker import (
    ScriptedWorker,
    acknowledged,
    batch,
    lines_of,
    out,
    submit,
    wait_state,
)


async def test_job_submitted_before_any_worker_runs_when_one_connects(channel: object) -> None:
    job = await submit(channel, "echo", "hi")
    worker = ScriptedWorker(v1.WorkerServiceStub(channel), "w1")  # type: ignore[arg-type]
    assert (await worker.next("welcome")).welcome
    run = (await worker.next("run_job")).run_job
    assert run and (run.job_id, run.attempt, run.first_seq) == (job.id, 1, 1)
    assert run.spec and run.spec.command == ["echo", "hi"]
    worker.send(accepted=v1.Accepted(job_id=job.id, attempt=1, pid=1, started_at=datetime.now(UTC)))
    await wait_state(channel, job.id, v1.JobState.RUNNING)
    worker.send(log_batch=batch(job.id, 1, out(1, "hi\n"), out(2, "e\n", v1.LogStream.STDERR)))
    worker.send(
        finished=v1.Finished(
            job_id=job.id, attempt=1, outcome=v1.AttemptOutcome.SUCCEEDED, exit_code=0, last_seq=2
        )
    )
    done = await wait_state(channel, job.id, v1.JobState.SUCCEEDED)
    assert (done.exit_code, done.worker_id, done.attempt) == (0, "w1", 1)
    logs = v1.LogServiceStub(channel)  # type: ignore[arg-type]
    chunks = [c async for c in logs.stream_logs(v1.StreamLogsRequest(job_id=job.id, follow=True))]
    got = [(line.seq, line.stream, line.data, line.attempt) for line in lines_of(*chunks)]
    assert got == [(1, v1.LogStream.STDOUT, b"hi\n", 1), (2, v1.LogStream.STDERR, b"e\n", 1)]
    assert chunks[-1].final_state is v1.JobState.SUCCEEDED
    worker.close()


async def test_follower_gets_history_then_live_without_gap_or_duplicate(channel: object) -> None:
    job = await submit(channel, "seq", "1000")
    worker = ScriptedWorker(v1.WorkerServiceStub(channel), "w1")  # type: ignore[arg-type]
    await worker.next("run_job")
    worker.send(accepted=v1.Accepted(job_id=job.id, attempt=1))
    worker.send(log_batch=batch(job.id, 1, *(out(s, f"{s}\n") for s in range(1, 501))))
    logs = v1.LogServiceStub(channel)  # type: ignore[arg-type]
    follower = logs.stream_logs(v1.StreamLogsRequest(job_id=job.id, follow=True))
    seqs: list[int] = []
    first = await anext(follower)
    seqs += [line.seq for line in lines_of(first)]
    for start in range(501, 1001, 100):
        worker.send(log_batch=batch(job.id, 1, *(out(s, f"{s}\n") for s in range(start, start + 100))))
    worker.send(finished=v1.Finished(job_id=job.id, attempt=1, outcome=v1.AttemptOutcome.FAILED, exit_code=3))
    async for chunk in follower:
        seqs += [line.seq for line in lines_of(chunk)]
        if chunk.final_state is not v1.JobState.UNSPECIFIED:
            assert chunk.final_state is v1.JobState.FAILED
    assert seqs == list(range(1, 1001))
    worker.close()


async def test_a_malformed_batch_is_refused_and_the_stream_goes_on(
    channel: object, caplog: pytest.LogCaptureFixture
) -> None:
    job = await submit(channel, "true")
    worker = ScriptedWorker(v1.WorkerServiceStub(channel), "w1")  # type: ignore[arg-type]
    await worker.next("run_job")
    bad = batch(job.id, 1, out(1, "one\n"), out(2, "two\n"))
    assert bad.lines is not None
    bad.lines.data = b"one\n"  # the lengths say 8 bytes
    worker.send(log_batch=bad)
    worker.send(log_batch=batch(job.id, 1, out(3, "three\n")))
    worker.send(
        finished=v1.Finished(job_id=job.id, attempt=1, outcome=v1.AttemptOutcome.SUCCEEDED, exit_code=0)
    )
    await wait_state(channel, job.id, v1.JobState.SUCCEEDED)
    logs = v1.LogServiceStub(channel)  # type: ignore[arg-type]
    chunks = [c async for c in logs.stream_logs(v1.StreamLogsRequest(job_id=job.id))]
    assert [line.data for line in lines_of(*chunks)] == [b"three\n"]
    assert (
        f"worker w1: LogBatch for job {job.id} attempt 1 refused: malformed log lines:"
        " the 2 lengths add up to 8 bytes but data holds 4"
    ) in caplog.text
    worker.close()


async def test_reports_of_a_stale_attempt_are_refused(channel: object) -> None:
    job = await submit(channel, "true")
    worker = ScriptedWorker(v1.WorkerServiceStub(channel), "w1")  # type: ignore[arg-type]
    await worker.next("run_job")
    worker.send(log_batch=batch(job.id, 7, out(1, "stale\n")))
    worker.send(
        finished=v1.Finished(job_id=job.id, attempt=7, outcome=v1.AttemptOutcome.SUCCEEDED, exit_code=0)
    )
    worker.send(finished=v1.Finished(job_id=job.id, attempt=1, outcome=v1.AttemptOutcome.FAILED, exit_code=9))
    done = await wait_state(channel, job.id, v1.JobState.FAILED)
    assert done.exit_code == 9
    logs = v1.LogServiceStub(channel)  # type: ignore[arg-type]
    chunks = [c async for c in logs.stream_logs(v1.StreamLogsRequest(job_id=job.id))]
    assert lines_of(*chunks) == []
    worker.close()


async def test_unacknowledged_dispatch_is_withdrawn_and_requeued(channel: object) -> None:
    silent = ScriptedWorker(v1.WorkerServiceStub(channel), "silent", slots=1)  # type: ignore[arg-type]
    await silent.next("welcome")
    job = await submit(channel, "true")
    await silent.next("run_job")
    cancel = (await silent.next("cancel", timeout=30)).cancel
    assert cancel and (cancel.job_id, cancel.attempt) == (job.id, 1)
    retry = (await silent.next("run_job", timeout=30)).run_job
    assert retry and (retry.job_id, retry.attempt) == (job.id, 2)
    got = await v1.JobServiceStub(channel).get_job(v1.GetJobRequest(id=job.id))  # type: ignore[arg-type]
    assert got.attempts[0].outcome is v1.AttemptOutcome.NOT_ACKNOWLEDGED
    assert "did not acknowledge" in got.attempts[0].reason
    silent.close()


async def test_selector_keeps_job_for_the_matching_worker(channel: object) -> None:
    cpu = ScriptedWorker(v1.WorkerServiceStub(channel), "cpu", gpu="false")  # type: ignore[arg-type]
    await cpu.next("welcome")
    job = await submit(channel, "true", selector=["gpu=true"])
    gpu = ScriptedWorker(v1.WorkerServiceStub(channel), "gpu", gpu="true")  # type: ignore[arg-type]
    run = (await gpu.next("run_job")).run_job
    assert run and run.job_id == job.id
    cpu.close()
    gpu.close()


@pytest.mark.parametrize(
    ("spec", "status", "phrase"),
    [
        (v1.JobSpec(command=[]), Status.INVALID_ARGUMENT, "no command"),
        (v1.JobSpec(command=["x"], selector=["a b c"]), Status.INVALID_ARGUMENT, "selector"),
        (v1.JobSpec(command=["x"], timeout_seconds=-1), Status.INVALID_ARGUMENT, "timeout"),
    ],
)
async def test_refused_jobs_are_explained_and_not_stored(
    channel: object, spec: v1.JobSpec, status: Status, phrase: str
) -> None:
    stub = v1.JobServiceStub(channel)  # type: ignore[arg-type]
    with pytest.raises(GRPCError) as err:
        await stub.submit_job(v1.SubmitJobRequest(spec=spec))
    assert err.value.status is status and phrase in (err.value.message or "")
    assert (await stub.list_jobs(v1.ListJobsRequest())).jobs == []


async def test_worker_list_reflects_live_streams_and_on_request_the_gone(channel: object) -> None:
    workers = v1.WorkerServiceStub(channel)  # type: ignore[arg-type]
    worker = ScriptedWorker(workers, "w1", zone="a")
    await worker.next("welcome")
    [info] = (await workers.list_workers(v1.ListWorkersRequest())).workers
    assert (info.id, info.live, info.slots_total, dict(info.labels)) == ("w1", True, 2, {"zone": "a"})
    worker.close()
    async with asyncio.timeout(30):
        while (await workers.list_workers(v1.ListWorkersRequest())).workers:
            await asyncio.sleep(0.02)
    [gone] = (await workers.list_workers(v1.ListWorkersRequest(include_gone=True))).workers
    assert (gone.id, gone.live, dict(gone.labels)) == ("w1", False, {"zone": "a"})


async def test_a_worker_cannot_report_on_another_workers_attempt(channel: object) -> None:
    owner = ScriptedWorker(v1.WorkerServiceStub(channel), "owner", slots=1)  # type: ignore[arg-type]
    await owner.next("welcome")
    job = await submit(channel, "true")
    await owner.next("run_job")
    other = ScriptedWorker(v1.WorkerServiceStub(channel), "other", slots=1)  # type: ignore[arg-type]
    await other.next("welcome")
    other.send(accepted=v1.Accepted(job_id=job.id, attempt=1))
    other.send(log_batch=batch(job.id, 1, out(1, "forged\n")))
    other.send(finished=v1.Finished(job_id=job.id, attempt=1, outcome=v1.AttemptOutcome.FAILED, exit_code=7))
    owner.send(log_batch=batch(job.id, 1, out(1, "real\n")))
    owner.send(
        finished=v1.Finished(job_id=job.id, attempt=1, outcome=v1.AttemptOutcome.SUCCEEDED, exit_code=0)
    )
    done = await wait_state(channel, job.id, v1.JobState.SUCCEEDED)
    assert (done.exit_code, done.worker_id) == (0, "owner")
    logs = v1.LogServiceStub(channel)  # type: ignore[arg-type]
    chunks = [c async for c in logs.stream_logs(v1.StreamLogsRequest(job_id=job.id))]
    assert [line.data for line in lines_of(*chunks)] == [b"real\n"]
    owner.close()
    other.close()


async def test_retry_queues_a_finished_job_as_its_next_attempt_keeping_the_first(channel: object) -> None:
    stub = v1.JobServiceStub(channel)  # type: ignore[arg-type]
    worker = ScriptedWorker(v1.WorkerServiceStub(channel), "w1")  # type: ignore[arg-type]
    await worker.next("welcome")
    job = await submit(channel, "false")
    await worker.next("run_job")
    worker.send(log_batch=batch(job.id, 1, out(1, "first\n")))
    worker.send(finished=v1.Finished(job_id=job.id, attempt=1, outcome=v1.AttemptOutcome.FAILED, exit_code=1))
    await wait_state(channel, job.id, v1.JobState.FAILED)

    again = await stub.retry_job(v1.RetryJobRequest(id=job.id))
    assert (again.state, again.attempt, again.exit_code) == (v1.JobState.PENDING, 1, None)
    assert "retried by request after it ended FAILED" in again.reason
    run = (await worker.next("run_job")).run_job
    assert run and (run.job_id, run.attempt, run.first_seq) == (job.id, 2, 2)
    worker.send(log_batch=batch(job.id, 2, out(2, "second\n")))
    succeeded = v1.AttemptOutcome.SUCCEEDED
    worker.send(finished=v1.Finished(job_id=job.id, attempt=2, outcome=succeeded, exit_code=0))
    done = await wait_state(channel, job.id, v1.JobState.SUCCEEDED)
    assert [(a.number, a.outcome) for a in done.attempts] == [
        (1, v1.AttemptOutcome.FAILED),
        (2, v1.AttemptOutcome.SUCCEEDED),
    ]
    logs = v1.LogServiceStub(channel)  # type: ignore[arg-type]
    chunks = [c async for c in logs.stream_logs(v1.StreamLogsRequest(job_id=job.id))]
    assert [(line.seq, line.data, line.attempt) for line in lines_of(*chunks)] == [
        (1, b"first\n", 1),
        (2, b"second\n", 2),
    ]
    worker.close()


async def test_retry_refuses_a_job_that_has_not_finished(channel: object) -> None:
    stub = v1.JobServiceStub(channel)  # type: ignore[arg-type]
    job = await submit(channel, "true")
    with pytest.raises(GRPCError) as err:
        await stub.retry_job(v1.RetryJobRequest(id=job.id))
    assert err.value.status is Status.FAILED_PRECONDITION
    assert f"job {job.id} is PENDING, not finished" in (err.value.message or "")
    assert (await stub.get_job(v1.GetJobRequest(id=job.id))).attempt == 0
    with pytest.raises(GRPCError) as missing:
        await stub.retry_job(v1.RetryJobRequest(id="00000000-0000-0000-0000-000000000000"))
    assert missing.value.status is Status.NOT_FOUND


async def test_reports_are_acknowledged_once_stored_and_a_replay_is_stored_once(channel: object) -> None:
    workers = v1.WorkerServiceStub(channel)  # type: ignore[arg-type]
    first = ScriptedWorker(workers, "w1")
    await first.next("welcome")
    job = await submit(channel, "seq", "3")
    await first.next("run_job")
    first.send(accepted=v1.Accepted(job_id=job.id, attempt=1, pid=1, started_at=datetime.now(UTC)))
    first.send(log_batch=batch(job.id, 1, out(1, "1\n"), out(2, "2\n")))
    await acknowledged(first, 2)
    first.close()  # the stream ends; the worker does not know what came of later messages

    second = ScriptedWorker(workers, "w1", credential=first.credential)
    second.hello.running = [v1.RunningAttempt(job_id=job.id, attempt=1, last_seq=3)]
    welcome = (await second.next("welcome")).welcome
    assert welcome is not None and welcome.stale == []  # resumed: same attempt
    second.send(log_batch=batch(job.id, 1, out(1, "1\n"), out(2, "2\n")))  # a replay
    second.send(log_batch=batch(job.id, 1, out(3, "3\n")))
    finished = v1.Finished(job_id=job.id, attempt=1, outcome=v1.AttemptOutcome.SUCCEEDED, exit_code=0)
    second.send(finished=finished)
    await acknowledged(second, 3)
    second.send(finished=finished)  # a Finished replayed once more is stale, and acknowledged
    await acknowledged(second, 4)
    done = await wait_state(channel, job.id, v1.JobState.SUCCEEDED)
    assert [(a.number, a.outcome) for a in done.attempts] == [(1, v1.AttemptOutcome.SUCCEEDED)]
    logs = v1.LogServiceStub(channel)  # type: ignore[arg-type]
    chunks = [c async for c in logs.stream_logs(v1.StreamLogsRequest(job_id=job.id))]
    assert [(line.seq, line.data) for line in lines_of(*chunks)] == [(1, b"1\n"), (2, b"2\n"), (3, b"3\n")]
    second.close()


async def test_a_dispatch_the_worker_never_took_goes_back_to_the_queue_without_a_retry(
    channel: object,
) -> None:
    workers = v1.WorkerServiceStub(channel)  # type: ignore[arg-type]
    first = ScriptedWorker(workers, "w1")
    job = await submit(channel, "true")
    await first.next("run_job")
    first.close()  # the stream breaks before the worker took the job

    second = ScriptedWorker(workers, "w1", credential=first.credential)
    assert (await second.next("run_job")).run_job == v1.RunJob(
        job_id=job.id, attempt=2, spec=job.spec, first_seq=1
    )
    again = await wait_state(channel, job.id, v1.JobState.ASSIGNED)
    assert [(a.number, a.outcome) for a in again.attempts] == [
        (1, v1.AttemptOutcome.NOT_ACKNOWLEDGED),
        (2, v1.AttemptOutcome.ACTIVE),
    ]
    assert "came back without it before it started" in again.attempts[0].reason
    second.close()
