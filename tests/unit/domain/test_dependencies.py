"""Dependency rules: what a spec asks for, how a job starts given its dependencies' states, and
the decision that explains a job waiting on them."""

from __future__ import annotations

import pytest

from hodei_api import v1
from hodeid.domain.dependencies import (
    Dependency,
    Kind,
    Unfinished,
    at_submit,
    breaks,
    ended_reason,
    requested,
    waiting_decision,
)
from hodeid.domain.placement import Outcome, Reason, Strategy

S = v1.JobState
OK, ANY = Kind.AFTER_OK, Kind.AFTER_ANY


@pytest.mark.parametrize(
    ("after", "after_any", "expected"),
    [
        ([], [], ()),
        (["a"], [], (Dependency("a", OK),)),
        ([], ["a"], (Dependency("a", ANY),)),
        (["a", "b"], ["c"], (Dependency("a", OK), Dependency("b", OK), Dependency("c", ANY))),
        (["a", "a"], [], (Dependency("a", OK),)),
        # Named in both: it must succeed (after asks more than after_any).
        (["a"], ["a"], (Dependency("a", OK),)),
        ([], ["a", "b", "a"], (Dependency("a", ANY), Dependency("b", ANY))),
        (["b"], ["a", "b"], (Dependency("b", OK), Dependency("a", ANY))),
    ],
)
def test_requested(after: list[str], after_any: list[str], expected: tuple[Dependency, ...]) -> None:
    assert requested(after, after_any) == expected


@pytest.mark.parametrize(
    ("kind", "state", "broken"),
    [
        (OK, S.SUCCEEDED, False),
        (OK, S.FAILED, True),
        (OK, S.CANCELLED, True),
        (OK, S.TIMED_OUT, True),
        # Not ended: a retry back to PENDING, or still running, breaks nothing yet.
        (OK, S.PENDING, False),
        (OK, S.ASSIGNED, False),
        (OK, S.RUNNING, False),
        (ANY, S.SUCCEEDED, False),
        (ANY, S.FAILED, False),
        (ANY, S.CANCELLED, False),
        (ANY, S.TIMED_OUT, False),
        (ANY, S.RUNNING, False),
    ],
)
def test_breaks(kind: Kind, state: v1.JobState, broken: bool) -> None:
    assert breaks(kind, state) is broken


@pytest.mark.parametrize(
    ("deps", "states", "state", "waiting_on", "settled", "reason_names"),
    [
        ([], {}, S.PENDING, 0, {}, []),
        ([("a", OK)], {"a": S.PENDING}, S.PENDING, 1, {}, []),
        ([("a", OK)], {"a": S.RUNNING}, S.PENDING, 1, {}, []),
        ([("a", OK)], {"a": S.SUCCEEDED}, S.PENDING, 0, {"a": S.SUCCEEDED}, []),
        ([("a", OK)], {"a": S.FAILED}, S.CANCELLED, 0, {"a": S.FAILED}, ["a"]),
        ([("a", OK)], {"a": S.TIMED_OUT}, S.CANCELLED, 0, {"a": S.TIMED_OUT}, ["a"]),
        ([("a", OK)], {"a": S.CANCELLED}, S.CANCELLED, 0, {"a": S.CANCELLED}, ["a"]),
        ([("a", ANY)], {"a": S.FAILED}, S.PENDING, 0, {"a": S.FAILED}, []),
        ([("a", ANY)], {"a": S.ASSIGNED}, S.PENDING, 1, {}, []),
        (
            [("a", OK), ("b", ANY), ("c", OK)],
            {"a": S.SUCCEEDED, "b": S.FAILED, "c": S.RUNNING},
            S.PENDING, 1, {"a": S.SUCCEEDED, "b": S.FAILED}, [],
        ),
        # One broken dependency is enough, whatever the others do; each broken one is named.
        (
            [("b", OK), ("a", OK), ("c", ANY)],
            {"a": S.FAILED, "b": S.TIMED_OUT, "c": S.PENDING},
            S.CANCELLED, 1, {"a": S.FAILED, "b": S.TIMED_OUT}, ["a", "b"],
        ),
    ],
)  # fmt: skip
def test_at_submit(
    deps: list[tuple[str, Kind]],
    states: dict[str, v1.JobState],
    state: v1.JobState,
    waiting_on: int,
    settled: dict[str, v1.JobState],
    reason_names: list[str],
) -> None:
    start = at_submit([Dependency(j, k) for j, k in deps], states)
    assert (start.state, start.waiting_on, dict(start.settled)) == (state, waiting_on, settled)
    assert start.reason == "; ".join(ended_reason(j, states[j]) for j in reason_names)


def test_the_reason_names_the_dependency_and_its_state() -> None:
    assert ended_reason("1234", S.TIMED_OUT) == "dependency 1234 ended TIMED_OUT; --after needs it SUCCEEDED"


def test_a_waiting_job_is_explained_by_each_unfinished_dependency() -> None:
    decision = waiting_decision(
        "job",
        [Unfinished("a", OK, S.RUNNING, "build"), Unfinished("b", ANY, S.PENDING)],
        Strategy.LEAST_LOADED,
    )
    assert decision.outcome is Outcome.WAITING and decision.worker_id is None
    assert [(v.target, v.kind, v.reason) for v in decision.verdicts] == [
        ("a", "dependency", Reason.WAITING_ON_DEPENDENCY),
        ("b", "dependency", Reason.WAITING_ON_DEPENDENCY),
    ]
    assert decision.histogram == {"WAITING_ON_DEPENDENCY": 2}
    assert decision.summary() == (
        "WAITING: 2 WAITING_ON_DEPENDENCY: job a 'build' is RUNNING; --after needs it SUCCEEDED, "
        "and job b is PENDING; --after-any needs it ended"
    )
