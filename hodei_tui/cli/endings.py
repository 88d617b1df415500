"""How a job or one of its attempts ended, in the words ``job run`` writes on stderr."""

from __future__ import annotations

import re

from hodei_api import v1

# The daemon's reason for a job set back to PENDING after a failed attempt ends so.
_RETRY_IN = re.compile(r"retry \d+ of \d+ in ([0-9.]+)s$")
_VERBS = {
    v1.AttemptOutcome.FAILED: "failed",
    v1.AttemptOutcome.TIMED_OUT: "timed out",
    v1.AttemptOutcome.LOST: "was lost",
}


def waiting_to_retry(job: v1.Job) -> bool:
    """True while a job whose attempt failed waits out its retry backoff."""
    return job.state is v1.JobState.PENDING and job.attempt > 0 and bool(_RETRY_IN.search(job.reason))


def attempt_detail(attempt: v1.Attempt) -> str:
    """``exit 5``, ``killed by signal 9``, else the attempt's reason."""
    if attempt.signal:
        return f"killed by signal {attempt.signal}"
    if attempt.exit_code is not None and attempt.outcome is v1.AttemptOutcome.FAILED:
        return f"exit {attempt.exit_code}"
    return attempt.reason or attempt.outcome.name.lower()


def retry_note(job: v1.Job, attempt: v1.Attempt) -> str | None:
    """What to say once ``attempt`` ended and another follows: ``attempt 1 failed (exit 5);
    attempt 2 of 3 in 1.0 s``; None if the attempt did not end in a way that is retried."""
    number = attempt.number
    if attempt.outcome is v1.AttemptOutcome.NOT_ACKNOWLEDGED:
        return f"attempt {number} was not acknowledged by worker {attempt.worker_id}; placing the job again"
    verb = _VERBS.get(attempt.outcome)
    if verb is None:
        return None
    spec = job.spec or v1.JobSpec()
    note = f"attempt {number} {verb} ({attempt_detail(attempt)}); attempt {number + 1}"
    if spec.max_retries:
        note += f" of {spec.max_retries + 1}"
    if job.state is v1.JobState.PENDING and job.attempt == number and (due := _RETRY_IN.search(job.reason)):
        note += f" in {due.group(1)} s"
    return note


def new_retry_notes(job: v1.Job, announced: int) -> tuple[list[str], int]:
    """The notes for attempts after number ``announced`` that ended and were followed by
    another (or are about to be), and the number announced up to now."""
    more_to_come = job.state in (v1.JobState.PENDING, v1.JobState.ASSIGNED, v1.JobState.RUNNING)
    notes = []
    for attempt in sorted(job.attempts, key=lambda a: a.number):
        if attempt.number <= announced or attempt.outcome in (
            v1.AttemptOutcome.UNSPECIFIED,
            v1.AttemptOutcome.ACTIVE,
        ):
            continue
        if attempt.number == job.attempt and not more_to_come:
            break  # the job's own end, which job run reports itself
        if (note := retry_note(job, attempt)) is not None:
            notes.append(note)
        announced = attempt.number
    return notes, announced
