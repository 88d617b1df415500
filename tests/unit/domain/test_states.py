"""The job state machine: every pair of states, legal or not, against a table written here."""

from __future__ import annotations

import itertools

import pytest

from hodei_api.gen.hodei.v1 import JobState
from hodeid.domain.states import TRANSITIONS, can_transition, is_terminal

P, A, R = JobState.PENDING, JobState.ASSIGNED, JobState.RUNNING
S, F, C, T = JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED, JobState.TIMED_OUT

# Written independently of hodeid.domain.states, from DESIGN.md rules 4 and 6:
# a job leaves PENDING only when claimed (ASSIGNED) or cancelled; an unacknowledged
# dispatch or a lost worker puts it back to PENDING, and so does a retry; a result that
# arrives while still ASSIGNED is accepted, so ASSIGNED reaches every terminal state too;
# an operator's retry (hodei job retry) queues a finished job again, as its next attempt.
LEGAL: frozenset[tuple[JobState, JobState]] = frozenset(
    {
        (P, A),
        (P, C),
        (A, R),
        (A, P),
        (A, S),
        (A, F),
        (A, C),
        (A, T),
        (R, P),
        (R, S),
        (R, F),
        (R, C),
        (R, T),
        (S, P),
        (F, P),
        (C, P),
        (T, P),
    }
)
TERMINAL_STATES = {S, F, C, T}


@pytest.mark.parametrize(
    ("src", "dst", "legal"),
    [
        pytest.param(src, dst, (src, dst) in LEGAL, id=f"{src.name}->{dst.name}")
        for src, dst in itertools.product(JobState, repeat=2)
    ],
)
def test_can_transition(src: JobState, dst: JobState, legal: bool) -> None:
    assert can_transition(src, dst) is legal


def test_transition_table_is_exactly_the_legal_moves() -> None:
    assert set(TRANSITIONS) == set(LEGAL)


@pytest.mark.parametrize(
    ("state", "terminal"),
    [pytest.param(state, state in TERMINAL_STATES, id=state.name) for state in JobState],
)
def test_is_terminal(state: JobState, terminal: bool) -> None:
    assert is_terminal(state) is terminal


@pytest.mark.parametrize("state", [pytest.param(s, id=s.name) for s in TERMINAL_STATES])
def test_a_terminal_state_is_left_only_by_a_retry_to_pending(state: JobState) -> None:
    assert [dst for dst in JobState if can_transition(state, dst)] == [P]


@pytest.mark.parametrize("state", [pytest.param(s, id=s.name) for s in JobState])
def test_unspecified_is_never_entered_or_left(state: JobState) -> None:
    assert not can_transition(JobState.UNSPECIFIED, state)
    assert not can_transition(state, JobState.UNSPECIFIED)


@pytest.mark.parametrize("state", [pytest.param(s, id=s.name) for s in JobState])
def test_no_self_loops(state: JobState) -> None:
    assert not can_transition(state, state)


def _reachable(start: JobState) -> set[JobState]:
    seen = {start}
    todo = [start]
    while todo:
        src = todo.pop()
        for dst in JobState:
            if can_transition(src, dst) and dst not in seen:
                seen.add(dst)
                todo.append(dst)
    return seen


def test_every_real_state_is_reachable_from_pending() -> None:
    assert _reachable(P) == set(JobState) - {JobState.UNSPECIFIED}


@pytest.mark.parametrize("state", [pytest.param(s, id=s.name) for s in (P, A, R)])
def test_every_live_state_can_still_end(state: JobState) -> None:
    assert _reachable(state) & TERMINAL_STATES == TERMINAL_STATES


def test_a_pending_job_reaches_running_only_through_assigned() -> None:
    assert not can_transition(P, R)
    assert can_transition(P, A) and can_transition(A, R)
