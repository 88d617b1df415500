"""How a finished job becomes the exit status of ``hodei job run``."""

from __future__ import annotations

import pytest

from hodei_api import v1
from hodei_tui.cli.job_exit import JobExit, job_exit

S = v1.JobState


@pytest.mark.parametrize(
    ("state", "exit_code", "signal", "reason", "expected"),
    [
        (S.SUCCEEDED, 0, None, "", JobExit(0)),
        (S.SUCCEEDED, None, None, "", JobExit(0)),
        (S.FAILED, 1, None, "", JobExit(1)),
        (S.FAILED, 255, None, "", JobExit(255)),
        # Not a plain exit: a line on stderr says how it ended.
        (S.FAILED, None, 9, "", JobExit(137, "job j ended FAILED: killed by signal 9")),
        (
            S.FAILED,
            None,
            15,
            "killed by signal 15 (SIGTERM)",
            JobExit(143, "job j ended FAILED: killed by signal 15 (SIGTERM)"),
        ),
        # A signal wins over whatever code came with it.
        (S.FAILED, 1, 11, "", JobExit(139, "job j ended FAILED: killed by signal 11")),
        # Timeout and cancel kill the process; what the caller wants is why, not the signal.
        (
            S.TIMED_OUT,
            None,
            15,
            "timed out after 2 s; killed by signal 15 (SIGTERM)",
            JobExit(124, "job j ended TIMED_OUT: timed out after 2 s; killed by signal 15 (SIGTERM)"),
        ),
        (S.TIMED_OUT, None, None, "", JobExit(124, "job j ended TIMED_OUT: timed out after 2 s")),
        (S.CANCELLED, None, 9, "", JobExit(130, "job j ended CANCELLED: cancelled")),
        (
            S.CANCELLED,
            None,
            None,
            "deploy aborted (cancelled by alice)",
            JobExit(130, "job j ended CANCELLED: deploy aborted (cancelled by alice)"),
        ),
        (S.FAILED, None, None, "no worker can run it", JobExit(125, "job j failed: no worker can run it")),
        (S.FAILED, None, None, "", JobExit(125, "job j failed: no reason given")),
        # A failure reported with code 0 must not read as success.
        (S.FAILED, 0, None, "worker lost", JobExit(125, "job j failed: worker lost")),
        (S.RUNNING, None, None, "", JobExit(125, "job j has not finished; it is RUNNING")),
        (S.PENDING, None, None, "", JobExit(125, "job j has not finished; it is PENDING")),
    ],
)
def test_job_exit(
    state: v1.JobState, exit_code: int | None, signal: int | None, reason: str, expected: JobExit
) -> None:
    spec = v1.JobSpec(command=["x"], timeout_seconds=2)
    job = v1.Job(id="j", spec=spec, state=state, exit_code=exit_code, signal=signal, reason=reason)
    assert job_exit(job) == expected
