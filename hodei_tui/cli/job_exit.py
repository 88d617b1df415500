"""How a finished job maps onto the status ``hodei job run`` exits with."""

from __future__ import annotations

from dataclasses import dataclass

from hodei_api import v1
from hodei_tui.cli.exit_codes import CANCELLED, HODEI_FAILED, OK, SIGNAL_BASE, TIMED_OUT


@dataclass(frozen=True)
class JobExit:
    """The status ``hodei job run`` exits with, and a line for stderr when the job's own
    output cannot explain it."""

    code: int
    message: str | None = None


def job_exit(job: v1.Job) -> JobExit:
    """How a job ended, as the status a shell expects from the command it ran, and, when
    that was not a plain exit (a timeout, a cancel, a signal), a line saying so."""
    state = job.state
    ended = f"job {job.id} ended {state.name}"
    # A timeout or cancel kills the process, so the signal is checked after these states:
    # the reason it died is what the caller wants, not the signal used.
    if state == v1.JobState.TIMED_OUT:
        timeout = job.spec.timeout_seconds if job.spec else 0
        return JobExit(TIMED_OUT, f"{ended}: {job.reason or f'timed out after {timeout:g} s'}")
    if state == v1.JobState.CANCELLED:
        return JobExit(CANCELLED, f"{ended}: {job.reason or 'cancelled'}")
    if state not in (v1.JobState.SUCCEEDED, v1.JobState.FAILED):
        return JobExit(HODEI_FAILED, f"job {job.id} has not finished; it is {state.name}")
    if job.signal:
        return JobExit(SIGNAL_BASE + job.signal, f"{ended}: {job.reason or f'killed by signal {job.signal}'}")
    if job.exit_code is not None and (job.exit_code != 0 or state == v1.JobState.SUCCEEDED):
        return JobExit(job.exit_code)
    if state == v1.JobState.SUCCEEDED:
        return JobExit(OK)
    # FAILED with no code of its own (never started, lost worker…), or claiming code 0:
    # never let a failure look like success.
    return JobExit(HODEI_FAILED, f"job {job.id} failed: {job.reason or 'no reason given'}")
