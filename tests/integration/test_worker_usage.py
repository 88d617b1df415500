"""What the kernel counted for each attempt: real processes, their rusage read by wait4."""

from __future__ import annotations

import asyncio
import os
import resource
import subprocess
import sys
import time

import pytest

from hodei_api import v1
from hodei_worker import reaping
from hodei_worker.process import AttemptProcess

PY = sys.executable
MB = 1 << 20
# Touches every byte of 300 MB (a bytes object made by repetition is written out), then spins
# until it has used half a second of CPU in user mode (the page faults count as system time).
HOG = (
    "import resource; x = b'x' * (300 << 20)\n"
    "while resource.getrusage(resource.RUSAGE_SELF).ru_utime < 0.5: pass"
)


async def _run(command: list[str], job_id: str = "job-1", **spec: object) -> v1.Finished:
    sent: list[v1.WorkerMessage] = []
    run = v1.RunJob(job_id=job_id, attempt=1, spec=v1.JobSpec(command=command, **spec), first_seq=1)  # type: ignore[arg-type]
    finished = await asyncio.wait_for(AttemptProcess(run, sent.append).run(), 60)
    assert finished is not None
    return finished


async def test_a_job_reports_its_peak_memory_and_cpu() -> None:
    usage = (await _run([PY, "-c", HOG])).usage
    assert usage is not None
    assert usage.max_rss_bytes >= 300 * MB
    assert usage.cpu_user_seconds >= 0.3
    assert usage.cpu_system_seconds >= 0
    assert usage.wall_seconds >= usage.cpu_user_seconds


async def test_the_children_it_waited_for_are_counted() -> None:
    """sh waits for python: python's use is in sh's rusage."""
    usage = (await _run(["sh", "-c", f'"{PY}" -c "$0"; echo done', HOG])).usage
    assert usage is not None
    assert usage.max_rss_bytes >= 300 * MB
    assert usage.cpu_user_seconds >= 0.3


async def test_concurrent_attempts_each_report_their_own() -> None:
    hog, small = await asyncio.gather(_run([PY, "-c", HOG], "hog"), _run(["sh", "-c", "sleep 0.3"], "small"))
    assert hog.usage is not None and small.usage is not None
    assert hog.usage.cpu_user_seconds >= 0.3
    assert small.usage.cpu_user_seconds < 0.3
    # Linux carries the spawner's peak across exec: a small job shows at most this process's.
    assert small.usage.max_rss_bytes <= resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


async def test_wall_time_lies_between_its_sleep_and_the_attempt() -> None:
    began = time.monotonic()
    finished = await _run(["sleep", "0.2"])
    elapsed = time.monotonic() - began
    assert finished.usage is not None
    assert 0.2 <= finished.usage.wall_seconds <= elapsed


async def test_a_killed_or_timed_out_attempt_reports_its_usage_too() -> None:
    finished = await _run(["sh", "-c", "sleep 100"], timeout_seconds=0.2, kill_grace_seconds=1)
    assert (finished.outcome, finished.signal) == (v1.AttemptOutcome.TIMED_OUT, 15)
    assert finished.usage is not None and finished.usage.wall_seconds >= 0.2


async def test_a_command_that_cannot_start_reports_none() -> None:
    finished = await _run(["/nonexistent/program"])
    assert (finished.exit_code, finished.usage) == (127, None)


def _spawn(command: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(command)


async def test_without_pidfds_a_thread_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Kernels before 5.3 have no pidfd: a thread waits for the exit, with wait4 all the same."""

    def refused(pid: int, flags: int = 0) -> int:
        raise OSError("pidfd_open refused")

    monkeypatch.setattr(os, "pidfd_open", refused)
    process = _spawn([PY, "-c", HOG])
    ended = await asyncio.wait_for(reaping.reap(process), 60)
    assert ended.returncode == 0 and process.returncode == 0
    assert ended.rusage is not None
    assert ended.rusage.max_rss_bytes >= 300 * MB
    assert ended.rusage.cpu_user_seconds >= 0.3
