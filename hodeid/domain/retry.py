"""What happens to a job when one of its attempts ends: pure retry decisions."""

from __future__ import annotations

from dataclasses import dataclass

from hodei_api.gen.hodei.v1 import AttemptOutcome, JobState

_FAILURES = {
    AttemptOutcome.FAILED: JobState.FAILED,
    AttemptOutcome.TIMED_OUT: JobState.TIMED_OUT,
    AttemptOutcome.LOST: JobState.FAILED,
}
_FINAL = {
    AttemptOutcome.SUCCEEDED: JobState.SUCCEEDED,
    AttemptOutcome.CANCELLED: JobState.CANCELLED,
}
MAX_RETRY_DELAY = 3600.0


@dataclass(frozen=True)
class Settlement:
    """The job's next state after an attempt ended, and why."""

    state: JobState
    add_failures: int
    delay: float
    reason: str


def final(outcome: AttemptOutcome, reason: str) -> Settlement | None:
    """The settlement of an attempt that ended with ``outcome`` when it does not depend on the
    job's history (its failures, retries or a cancel asked for): a success or a cancel carried
    out ends the job so, whatever else; None for every other outcome."""
    if outcome in _FINAL:
        return Settlement(_FINAL[outcome], 0, 0.0, reason)
    return None


def settle(
    outcome: AttemptOutcome,
    *,
    failures: int,
    max_retries: int,
    backoff: float,
    reason: str,
    jitter: float,
    cancel: str = "",
) -> Settlement:
    """Decide the job's state after an attempt ended with ``outcome``.

    ``failures`` counts earlier failed, timed-out or lost attempts; ``jitter`` in [0, 1)
    spreads retries of jobs that failed together (the delay is between half and all of
    ``backoff * 2**failures``, capped at an hour). ``cancel`` is the reason of a cancel asked
    for while the attempt ran: then nothing runs again — an attempt lost or never acknowledged
    ends the job CANCELLED, one that failed or timed out first ends it so.
    """
    if (settled := final(outcome, reason)) is not None:
        return settled
    if outcome is not AttemptOutcome.NOT_ACKNOWLEDGED and outcome not in _FAILURES:
        raise ValueError(f"attempt outcome {outcome.name} does not end an attempt")
    if cancel and outcome in (AttemptOutcome.LOST, AttemptOutcome.NOT_ACKNOWLEDGED):
        return Settlement(JobState.CANCELLED, 0, 0.0, f"{cancel}; {reason}")
    if cancel:
        return Settlement(_FAILURES[outcome], 1, 0.0, f"{reason}; not retried: cancel requested")
    if outcome is AttemptOutcome.NOT_ACKNOWLEDGED:
        return Settlement(JobState.PENDING, 0, 0.0, reason)
    if failures + 1 > max_retries:
        if max_retries:
            reason = f"{reason}; no retries left ({max_retries} used)"
        return Settlement(_FAILURES[outcome], 1, 0.0, reason)
    delay = min(backoff * 2**failures, MAX_RETRY_DELAY) * (0.5 + jitter / 2)
    note = f"{reason}; retry {failures + 1} of {max_retries} in {delay:.1f}s"
    return Settlement(JobState.PENDING, 1, delay, note)
