"""Running one attempt as a real subprocess: exit, signals, spawn failures, cancel, timeout, volume."""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from hodei_api import v1
from hodei_api.loglines import Line, unpack
from hodei_worker.process import AttemptProcess
from tests.support.procfs import group_members, kill_group, wait_for_group, wait_group_gone

OUT, ERR, SYSTEM = v1.LogStream.STDOUT, v1.LogStream.STDERR, v1.LogStream.SYSTEM
Outcome = v1.AttemptOutcome
PY = sys.executable


class Report(list[v1.WorkerMessage]):
    """Everything one attempt sent, with views by kind."""

    @property
    def accepted(self) -> list[v1.Accepted]:
        return [m.accepted for m in self if m.accepted is not None]

    @property
    def lines(self) -> list[Line]:
        batches = [m.log_batch.lines for m in self if m.log_batch is not None]
        return [line for lines in batches if lines is not None for line in unpack(lines)]

    @property
    def batches(self) -> int:
        return sum(1 for m in self if m.log_batch is not None)

    @property
    def finished(self) -> v1.Finished:
        [finished] = [m.finished for m in self if m.finished is not None]
        return finished

    def kinds(self) -> list[str]:
        return [
            next(k for k in ("accepted", "log_batch", "finished") if getattr(m, k) is not None) for m in self
        ]


class Attempts:
    """Starts attempts for a test and, should it fail half-way, ends their groups by id."""

    def __init__(self) -> None:
        self.started: list[AttemptProcess] = []

    def make(
        self, command: Sequence[str], *, first_seq: int = 1, **spec: Any
    ) -> tuple[AttemptProcess, Report]:
        report = Report()
        run = v1.RunJob(
            job_id="job-1", attempt=1, spec=v1.JobSpec(command=list(command), **spec), first_seq=first_seq
        )
        attempt = AttemptProcess(run, report.append)
        self.started.append(attempt)
        return attempt, report

    async def run(self, command: Sequence[str], **spec: Any) -> Report:
        attempt, report = self.make(command, **spec)
        finished = await asyncio.wait_for(attempt.run(), 60)
        assert finished == report.finished
        return report


@pytest.fixture
async def attempts() -> AsyncIterator[Attempts]:
    made = Attempts()
    yield made
    for attempt in made.started:
        if attempt.pid is not None:
            kill_group(attempt.pid)


def sh(script: str) -> list[str]:
    return ["sh", "-c", script]


async def test_success(attempts: Attempts) -> None:
    report = await attempts.run(sh("echo hello"))
    assert report.kinds() == ["accepted", "log_batch", "finished"]
    [accepted] = report.accepted
    finished = report.finished
    assert accepted.pid > 0
    assert (finished.outcome, finished.exit_code, finished.signal) == (Outcome.SUCCEEDED, 0, None)
    assert finished.reason == "exited with code 0"
    assert finished.started_at == accepted.started_at
    assert finished.started_at is not None and finished.finished_at is not None
    assert finished.started_at <= finished.finished_at
    assert (finished.job_id, finished.attempt, finished.last_seq) == ("job-1", 1, 1)


async def test_a_job_that_ends_at_once_is_reported_in_one_go() -> None:
    """Accepted waits for the end within its window: both leave in the same turn of the loop."""
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    sent: list[tuple[str, int]] = []

    def emit(message: v1.WorkerMessage) -> None:
        sent.append((Report([message]).kinds()[0], ticks))

    run = v1.RunJob(job_id="job-1", attempt=1, spec=v1.JobSpec(command=["true"]), first_seq=1)
    ticker = asyncio.create_task(tick())
    try:
        await asyncio.wait_for(AttemptProcess(run, emit, accept_window=60).run(), 60)
    finally:
        ticker.cancel()
    [(first, at), (last, at_end)] = sent
    assert (first, last) == ("accepted", "finished")
    assert at == at_end


async def test_exit_code_and_separate_streams(attempts: Attempts) -> None:
    report = await attempts.run(sh("echo hi; echo err >&2; exit 3"))
    assert sorted((line.stream, line.data) for line in report.lines) == [(OUT, b"hi\n"), (ERR, b"err\n")]
    assert sorted(line.seq for line in report.lines) == [1, 2]
    finished = report.finished
    assert (finished.outcome, finished.exit_code, finished.signal) == (Outcome.FAILED, 3, None)
    assert finished.reason == "exited with code 3"
    assert finished.last_seq == 2


async def test_killed_by_a_signal(attempts: Attempts) -> None:
    finished = (await attempts.run(sh("kill -KILL $$"))).finished
    assert (finished.outcome, finished.exit_code, finished.signal) == (Outcome.FAILED, None, 9)
    assert finished.reason == "killed by signal 9 (SIGKILL)"


async def test_env_cwd_and_stdin(attempts: Attempts, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FROM_WORKER", "kept")
    monkeypatch.setenv("OVERRIDDEN", "worker")
    report = await attempts.run(
        sh('echo "$FROM_WORKER $OVERRIDDEN $FROM_JOB"; pwd; cat; echo end'),
        env={"OVERRIDDEN": "job", "FROM_JOB": "yes"},
        cwd=str(tmp_path),
    )
    assert [line.data for line in report.lines] == [b"kept job yes\n", f"{tmp_path}\n".encode(), b"end\n"]


async def test_no_hodei_variable_of_the_worker_reaches_the_job(
    attempts: Attempts, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HODEI_JOIN_TOKEN", "HODEI_JOIN_TOKEN_FILE", "HODEI_TOKEN", "HODEI_SLOTS"):
        monkeypatch.setenv(name, "the worker's")
    report = await attempts.run(["env"], env={"HODEI_OWN": "the job's"})
    hodei = [line.data for line in report.lines if line.data.startswith(b"HODEI_")]
    assert hodei == [b"HODEI_OWN=the job's\n"]


async def test_first_seq_continues_earlier_attempts(attempts: Attempts) -> None:
    attempt, report = attempts.make(sh("echo a; echo b"), first_seq=101)
    await attempt.run()
    assert [line.seq for line in report.lines] == [101, 102]
    assert report.finished.last_seq == 102


async def test_unterminated_last_line_and_long_lines(attempts: Attempts) -> None:
    report = await attempts.run([PY, "-c", "import sys; sys.stdout.write('x' * 200_000 + '\\nlast')"])
    assert [len(line.data) for line in report.lines if line.stream is v1.LogStream.STDOUT] == [
        65536, 65536, 65536, 3393, 4,
    ]  # fmt: skip
    assert report.lines[3].data.endswith(b"x\n")
    assert report.lines[4].data == (
        b"stdout line of 200001 bytes is over the 65536-byte line limit: split into lines 1-4\n"
    )
    assert report.lines[4].stream is v1.LogStream.SYSTEM
    assert report.lines[5].data == b"last"


async def test_stdout_and_stderr_share_one_counter_in_reading_order(attempts: Attempts) -> None:
    script = (
        "import sys, time\n"
        "for i in range(4):\n"
        "    for stream in (sys.stdout, sys.stderr):\n"
        "        stream.write(f'{stream.name} {i}\\n'); stream.flush(); time.sleep(0.03)\n"
    )
    report = await attempts.run([PY, "-c", script])
    ordered = sorted(report.lines, key=lambda line: line.seq)
    assert [line.seq for line in ordered] == list(range(1, 9))
    assert [line.data for line in ordered] == [
        f"<{s}> {i}\n".encode() for i in range(4) for s in ("stdout", "stderr")
    ]
    assert [line.stream for line in ordered] == [OUT, ERR] * 4


@pytest.mark.parametrize(
    ("command", "cwd", "exit_code", "reason"),
    [
        (["/nonexistent/prog"], "", 127, "cannot start '/nonexistent/prog': No such file or directory"),
        (
            ["no-such-command-hodei"],
            "",
            127,
            "cannot start 'no-such-command-hodei': No such file or directory",
        ),
        ([], "", 127, "cannot start the job: its command is empty"),
        (
            ["true"],
            "/nonexistent/dir",
            126,
            "cannot start 'true' in '/nonexistent/dir': No such file or directory",
        ),
        (["true", "a\0b"], "", 126, "cannot start 'true': embedded null byte"),
    ],
    ids=["missing program", "not on PATH", "empty command", "missing cwd", "NUL in an argument"],
)
async def test_spawn_failure(
    attempts: Attempts,
    command: list[str],
    cwd: str,
    exit_code: int,
    reason: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    report = await attempts.run(command, cwd=cwd)
    assert report.kinds() == ["log_batch", "finished"]
    [line] = report.lines
    assert (line.seq, line.stream, line.data) == (1, SYSTEM, reason.encode() + b"\n")
    finished = report.finished
    assert (finished.outcome, finished.exit_code, finished.signal) == (Outcome.FAILED, exit_code, None)
    assert (finished.reason, finished.last_seq) == (reason, 1)
    assert reason in caplog.text


async def test_spawn_failure_not_executable(attempts: Attempts, tmp_path: Path) -> None:
    script = tmp_path / "script.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    finished = (await attempts.run([str(script)])).finished
    assert (finished.exit_code, finished.reason) == (126, f"cannot start {str(script)!r}: Permission denied")


async def test_cancel_ends_the_whole_process_group(attempts: Attempts) -> None:
    attempt, report = attempts.make(sh("sleep 100 & sleep 100"))
    task = asyncio.create_task(attempt.run())
    while not report.accepted:
        await asyncio.sleep(0.01)
    assert attempt.pid == report.accepted[0].pid
    await wait_for_group(attempt.pid, 3)  # sh and both sleeps
    started = time.monotonic()
    attempt.cancel("operator said so", grace=5)
    finished = await asyncio.wait_for(task, 10)
    assert time.monotonic() - started < 2, "SIGTERM should end it well before the grace"
    assert finished is not None
    assert (finished.outcome, finished.signal) == (Outcome.CANCELLED, 15)
    assert finished.reason == "operator said so; killed by signal 15 (SIGTERM)"
    await wait_group_gone(attempt.pid)


async def test_nothing_in_the_group_outlives_the_attempt(attempts: Attempts) -> None:
    attempt, _ = attempts.make(sh("sleep 100 >/dev/null 2>&1 & echo started"))
    finished = await asyncio.wait_for(attempt.run(), 10)
    assert finished is not None and finished.exit_code == 0
    assert attempt.pid is not None
    await wait_group_gone(attempt.pid)


async def test_timeout_of_a_job_that_ignores_sigterm(attempts: Attempts) -> None:
    attempt, _ = attempts.make(
        sh("trap '' TERM; echo ready; while :; do sleep 0.05; done"),
        timeout_seconds=0.3,
        kill_grace_seconds=0.4,
    )
    started = time.monotonic()
    finished = await asyncio.wait_for(attempt.run(), 10)
    elapsed = time.monotonic() - started
    assert finished is not None
    assert (finished.outcome, finished.exit_code, finished.signal) == (Outcome.TIMED_OUT, None, 9)
    assert finished.reason == "timed out after 0.3 s; killed by signal 9 (SIGKILL)"
    assert 0.7 <= elapsed < 3, "SIGKILL comes after the timeout plus the grace"
    assert attempt.pid is not None and not group_members(attempt.pid)


async def test_cancel_before_the_process_started(attempts: Attempts) -> None:
    attempt, report = attempts.make(["sleep", "100"])
    task = asyncio.create_task(attempt.run())
    attempt.cancel()
    finished = await asyncio.wait_for(task, 10)
    assert report.kinds() == ["accepted", "finished"]
    assert finished is not None
    assert (finished.outcome, finished.signal, finished.reason) == (
        Outcome.CANCELLED,
        15,
        "cancelled; killed by signal 15 (SIGTERM)",
    )


async def test_cancel_after_the_end_changes_nothing(attempts: Attempts) -> None:
    attempt, report = attempts.make(["true"])
    await attempt.run()
    attempt.cancel("too late")
    assert report.finished.outcome == Outcome.SUCCEEDED


async def test_abandon_kills_and_reports_nothing_more(attempts: Attempts) -> None:
    attempt, report = attempts.make(sh("echo one; sleep 100"))
    task = asyncio.create_task(attempt.run())
    while not report.accepted:
        await asyncio.sleep(0.01)
    assert attempt.pid is not None
    attempt.abandon()
    assert await asyncio.wait_for(task, 10) is None
    assert report.kinds() == ["accepted"]
    await wait_group_gone(attempt.pid)


async def test_100_000_lines_arrive_in_order_and_in_few_batches(attempts: Attempts) -> None:
    count = 100_000
    script = f"import sys; sys.stdout.writelines(f'line {{i}}\\n' for i in range({count}))"
    started = time.monotonic()
    report = await attempts.run([PY, "-c", script])
    wire_bytes = sum(len(bytes(message)) for message in report)
    elapsed = time.monotonic() - started
    lines = report.lines
    assert [line.seq for line in lines] == list(range(1, count + 1))
    assert lines[0].data == b"line 0\n" and lines[-1].data == b"line 99999\n"
    assert all(line.data == b"line %d\n" % i for i, line in enumerate(lines))
    assert report.batches <= count // 1000 + 5
    assert report.finished.last_seq == count
    logging.getLogger(__name__).info(
        "100,000 lines: %.2f s to run, read, batch and encode (%d batches, %d bytes)",
        elapsed,
        report.batches,
        wire_bytes,
    )
    assert elapsed < 10
