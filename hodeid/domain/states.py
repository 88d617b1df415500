"""The job state machine, in the contract's own enum."""

from __future__ import annotations

from hodei_api.gen.hodei.v1 import JobState

TERMINAL = frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED, JobState.TIMED_OUT})
ACTIVE = frozenset({JobState.ASSIGNED, JobState.RUNNING})

# Every legal move. PENDING -> ASSIGNED only in the claiming transaction; ASSIGNED -> PENDING
# when a dispatch is not acknowledged (or its worker is lost) and RUNNING -> PENDING for a retry;
# a finished job goes back to PENDING only when an operator retries it (``hodei job retry``).
TRANSITIONS: frozenset[tuple[JobState, JobState]] = frozenset(
    {
        (JobState.PENDING, JobState.ASSIGNED),
        (JobState.PENDING, JobState.CANCELLED),
        (JobState.ASSIGNED, JobState.RUNNING),
        (JobState.ASSIGNED, JobState.PENDING),
        (JobState.RUNNING, JobState.PENDING),
    }
    | {(src, dst) for src in ACTIVE for dst in TERMINAL}
    | {(src, JobState.PENDING) for src in TERMINAL}
)


def can_transition(src: JobState, dst: JobState) -> bool:
    """True when a job may move from ``src`` to ``dst``."""
    return (src, dst) in TRANSITIONS


def is_terminal(state: JobState) -> bool:
    return state in TERMINAL
