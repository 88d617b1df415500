"""place() and place_batch(): the choice, the outcome, and the trace that explains both."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hodeid.domain.placement import (
    Decision,
    JobNeeds,
    Outcome,
    Policy,
    Reason,
    Strategy,
    Verdict,
    WorkerState,
    place,
    place_batch,
)
from hodeid.domain.selectors import Term, parse

NO_PROVIDER = Verdict("-", "provider", Reason.NO_PROVIDER, "no provider is configured", False)
PROVIDER_FITS = Verdict("local", "provider", Reason.FITS, "provider local: can start a worker")

WORKER = WorkerState(
    "w1", slots_total=2, cpu_total=4.0, memory_total=4096, labels={"gpu": "true", "os": "linux"}
)
JOB = JobNeeds("j1", cpu=1.0, memory_mb=512)


def _place(
    job: JobNeeds = JOB,
    workers: Sequence[WorkerState] = (WORKER,),
    providers: Sequence[Verdict] = (),
    policy: Policy | None = None,
) -> Decision:
    return place(job, workers, providers, policy or Policy())


def _worker_verdicts(decision: Decision) -> list[Verdict]:
    return [v for v in decision.verdicts if v.kind == "worker"]


# One worker, one job: the verdict on that worker (reason, sentence, could it ever fit)
# and the outcome it leads to with no provider configured.
REASONS = [
    ("fits", {}, {}, Reason.FITS, "fits: 2 slot(s) free", True, Outcome.PLACED),
    ("fits-last-slot", {"slots_used": 1}, {}, Reason.FITS, "fits: 1 slot(s) free", True, Outcome.PLACED),
    ("fits-exact-cpu", {"cpu_used": 3.0}, {}, Reason.FITS, "fits: 2 slot(s) free", True, Outcome.PLACED),
    (
        "fits-exact-memory",
        {"memory_used": 3584},
        {},
        Reason.FITS,
        "fits: 2 slot(s) free",
        True,
        Outcome.PLACED,
    ),
    (
        "fits-heartbeat-at-threshold",
        {"heartbeat_age": 15.0},
        {},
        Reason.FITS,
        "fits: 2 slot(s) free",
        True,
        Outcome.PLACED,
    ),
    (
        "fits-selector",
        {},
        {"selector": parse(["gpu=true", "os in (linux,bsd)", "!spot"])},
        Reason.FITS,
        "fits: 2 slot(s) free",
        True,
        Outcome.PLACED,
    ),
    (
        "fits-no-needs-no-resources",
        {"cpu_total": 0.0, "memory_total": 0},
        {"cpu": 0.0, "memory_mb": 0},
        Reason.FITS,
        "fits: 2 slot(s) free",
        True,
        Outcome.PLACED,
    ),
    ("stream-down", {"live": False}, {}, Reason.STREAM_DOWN, "stream is down", True, Outcome.WAITING),
    (
        "heartbeat-stale",
        {"heartbeat_age": 16.4},
        {},
        Reason.HEARTBEAT_STALE,
        "no heartbeat for 16 s",
        True,
        Outcome.WAITING,
    ),
    (
        "selector-other-value",
        {},
        {"selector": parse(["gpu=false"])},
        Reason.SELECTOR_MISMATCH,
        "label gpu=false: worker has gpu=true",
        False,
        Outcome.UNPLACEABLE,
    ),
    (
        "selector-label-missing",
        {},
        {"selector": parse(["zone in (a,b)"])},
        Reason.SELECTOR_MISMATCH,
        "label zone in (a,b): worker has none",
        False,
        Outcome.UNPLACEABLE,
    ),
    (
        "selector-first-failing-term",
        {},
        {"selector": parse(["gpu=true", "zone=a", "!os"])},
        Reason.SELECTOR_MISMATCH,
        "label zone=a: worker has none",
        False,
        Outcome.UNPLACEABLE,
    ),
    (
        "cpu-more-than-in-all",
        {},
        {"cpu": 8.0},
        Reason.CPU_EXHAUSTED,
        "cpu: needs 8, has 4 in all",
        False,
        Outcome.UNPLACEABLE,
    ),
    (
        "cpu-fraction-more-than-in-all",
        {"cpu_total": 2.0},
        {"cpu": 2.5},
        Reason.CPU_EXHAUSTED,
        "cpu: needs 2.5, has 2 in all",
        False,
        Outcome.UNPLACEABLE,
    ),
    (
        "cpu-worker-offers-none",
        {"cpu_total": 0.0},
        {"cpu": 0.5},
        Reason.CPU_EXHAUSTED,
        "cpu: needs 0.5, has 0 in all",
        False,
        Outcome.UNPLACEABLE,
    ),
    (
        "cpu-not-free",
        {"cpu_used": 3.5},
        {},
        Reason.CPU_EXHAUSTED,
        "cpu: needs 1, 0.5 free",
        True,
        Outcome.WAITING,
    ),
    (
        "cpu-fraction-not-free",
        {"cpu_used": 2.5},
        {"cpu": 2.0},
        Reason.CPU_EXHAUSTED,
        "cpu: needs 2, 1.5 free",
        True,
        Outcome.WAITING,
    ),
    (
        "memory-more-than-in-all",
        {},
        {"memory_mb": 8192},
        Reason.MEMORY_EXHAUSTED,
        "memory: needs 8192 MB, has 4096 MB in all",
        False,
        Outcome.UNPLACEABLE,
    ),
    (
        "memory-not-free",
        {"memory_used": 4000},
        {},
        Reason.MEMORY_EXHAUSTED,
        "memory: needs 512 MB, 96 MB free",
        True,
        Outcome.WAITING,
    ),
    (
        "draining",
        {"draining": True},
        {},
        Reason.DRAINING,
        "draining: takes no new jobs",
        True,
        Outcome.WAITING,
    ),
    (
        "no-free-slot",
        {"slots_used": 2},
        {},
        Reason.NO_FREE_SLOT,
        "slots: 2 of 2 in use",
        True,
        Outcome.WAITING,
    ),
    # When several things are wrong, the first in this order is reported: liveness,
    # selector, size, draining, slots, free cpu, free memory.
    (
        "down-and-draining",
        {"live": False, "draining": True},
        {},
        Reason.STREAM_DOWN,
        "stream is down",
        True,
        Outcome.WAITING,
    ),
    (
        "stale-and-full",
        {"heartbeat_age": 60.0, "slots_used": 2},
        {},
        Reason.HEARTBEAT_STALE,
        "no heartbeat for 60 s",
        True,
        Outcome.WAITING,
    ),
    (
        "mismatch-and-full",
        {"slots_used": 2},
        {"selector": parse(["!gpu"])},
        Reason.SELECTOR_MISMATCH,
        "label !gpu: worker has gpu=true",
        False,
        Outcome.UNPLACEABLE,
    ),
    (
        "too-big-and-draining",
        {"draining": True},
        {"cpu": 5.0},
        Reason.CPU_EXHAUSTED,
        "cpu: needs 5, has 4 in all",
        False,
        Outcome.UNPLACEABLE,
    ),
    (
        "cpu-and-memory-too-big",
        {},
        {"cpu": 5.0, "memory_mb": 5000},
        Reason.CPU_EXHAUSTED,
        "cpu: needs 5, has 4 in all",
        False,
        Outcome.UNPLACEABLE,
    ),
    (
        "draining-and-full",
        {"draining": True, "slots_used": 2},
        {},
        Reason.DRAINING,
        "draining: takes no new jobs",
        True,
        Outcome.WAITING,
    ),
    (
        "full-and-no-cpu-free",
        {"slots_used": 2, "cpu_used": 4.0},
        {},
        Reason.NO_FREE_SLOT,
        "slots: 2 of 2 in use",
        True,
        Outcome.WAITING,
    ),
    (
        "no-cpu-and-no-memory-free",
        {"cpu_used": 4.0, "memory_used": 4096},
        {},
        Reason.CPU_EXHAUSTED,
        "cpu: needs 1, 0 free",
        True,
        Outcome.WAITING,
    ),
]


@pytest.mark.parametrize(
    ("worker_changes", "job_changes", "reason", "message", "could_fit", "outcome"),
    [pytest.param(*case[1:], id=str(case[0])) for case in REASONS],
)
def test_worker_verdict(
    worker_changes: dict[str, Any],
    job_changes: dict[str, Any],
    reason: Reason,
    message: str,
    could_fit: bool,
    outcome: Outcome,
) -> None:
    decision = _place(replace(JOB, **job_changes), [replace(WORKER, **worker_changes)])
    (verdict,) = _worker_verdicts(decision)
    assert (verdict.target, verdict.kind, verdict.reason, verdict.message, verdict.could_fit) == (
        "w1",
        "worker",
        reason,
        message,
        could_fit,
    )
    assert decision.outcome is outcome
    assert decision.worker_id == ("w1" if outcome is Outcome.PLACED else None)
    assert (verdict.score is not None) == (reason is Reason.FITS)


def test_every_worker_reason_is_in_the_table() -> None:
    not_of_workers = {
        Reason.UNSPECIFIED, Reason.NO_PROVIDER, Reason.PROVIDER_AT_MAX,
        Reason.PROVIDER_CANNOT_FIT, Reason.PROVIDER_FAILING,
        Reason.WAITING_ON_DEPENDENCY,  # of a job waited on (hodeid.domain.dependencies)
    }  # fmt: skip
    worker_reasons = set(Reason) - not_of_workers
    assert {case[3] for case in REASONS} == worker_reasons


def test_staleness_follows_the_policy() -> None:
    worker = replace(WORKER, heartbeat_age=6.0)
    assert _place(workers=[worker]).outcome is Outcome.PLACED
    decision = _place(workers=[worker], policy=Policy(heartbeat_stale_after=5.0))
    assert _worker_verdicts(decision)[0].message == "no heartbeat for 6 s"
    assert decision.outcome is Outcome.WAITING


# Decimal amounts of cpu that add up exactly must fit: a worker with 0.6 cpu running a 0.2
# job has 0.4 free. Binary floating point gives 0.6 - 0.2 = 0.39999999999999997, and
# the sentence then reads "cpu: needs 0.4, 0.4 free".
@pytest.mark.parametrize(
    ("cpu_total", "running", "need"),
    [
        pytest.param(1.0, [0.5], 0.5, id="half-and-half"),
        pytest.param(0.6, [0.2], 0.4, id="0.6-minus-0.2"),
        pytest.param(1.0, [0.4, 0.2], 0.4, id="1.0-minus-0.4-0.2"),
        pytest.param(1.0, [0.5, 0.4], 0.1, id="1.0-minus-0.5-0.4"),
        pytest.param(2.0, [0.6, 0.2, 0.2], 1.0, id="2.0-minus-0.6-0.2-0.2"),
    ],
)
def test_cpu_that_adds_up_exactly_fits(cpu_total: float, running: list[float], need: float) -> None:
    worker = WorkerState("w1", slots_total=8, cpu_total=cpu_total)
    jobs = [JobNeeds(f"r{i}", cpu=c) for i, c in enumerate(running)] + [JobNeeds("last", cpu=need)]
    decisions = place_batch(jobs, [worker], [], Policy())
    assert [d.worker_id for d in decisions] == ["w1"] * len(jobs), decisions[-1].verdicts[0].message
    used = sum(running)  # as the session registry computes it
    single = _place(JobNeeds("last", cpu=need), [replace(worker, cpu_used=used)])
    assert single.outcome is Outcome.PLACED, single.verdicts[0].message


# Outcomes with several workers and providers.


def test_placed_still_reports_that_no_provider_is_configured() -> None:
    decision = _place()
    assert decision.outcome is Outcome.PLACED
    assert decision.verdicts[-1] == NO_PROVIDER


def test_no_workers_and_no_providers_is_unplaceable_and_says_so() -> None:
    decision = _place(workers=[])
    assert decision.outcome is Outcome.UNPLACEABLE
    assert decision.worker_id is None
    assert decision.verdicts == (NO_PROVIDER,)
    assert decision.histogram == {"NO_PROVIDER": 1}


def test_waiting_when_one_worker_could_fit_once_free() -> None:
    workers = [
        replace(WORKER, id="gpu-less", labels={}),
        replace(WORKER, id="busy", slots_used=2),
    ]
    decision = _place(replace(JOB, selector=parse(["gpu=true"])), workers)
    assert decision.outcome is Outcome.WAITING
    assert [(v.target, v.reason, v.could_fit) for v in _worker_verdicts(decision)] == [
        ("gpu-less", Reason.SELECTOR_MISMATCH, False),
        ("busy", Reason.NO_FREE_SLOT, True),
    ]


def test_unplaceable_when_no_worker_could_ever_fit() -> None:
    workers = [
        replace(WORKER, id="small", cpu_total=0.5),
        replace(WORKER, id="tiny-memory", memory_total=128),
        replace(WORKER, id="wrong-os", labels={"os": "bsd"}),
    ]
    decision = _place(replace(JOB, selector=parse(["os=linux"])), workers)
    assert decision.outcome is Outcome.UNPLACEABLE
    assert [v.reason for v in decision.verdicts] == [
        Reason.CPU_EXHAUSTED,
        Reason.MEMORY_EXHAUSTED,
        Reason.SELECTOR_MISMATCH,
        Reason.NO_PROVIDER,
    ]


def test_provision_when_no_worker_fits_and_a_provider_would() -> None:
    workers = [replace(WORKER, labels={})]
    decision = _place(replace(JOB, selector=parse(["gpu=true"])), workers, [PROVIDER_FITS])
    assert decision.outcome is Outcome.PROVISION
    assert decision.worker_id is None
    assert decision.verdicts[-1] is PROVIDER_FITS
    assert NO_PROVIDER not in decision.verdicts


def test_provision_with_no_workers_at_all() -> None:
    decision = _place(workers=[], providers=[PROVIDER_FITS])
    assert decision.outcome is Outcome.PROVISION
    assert decision.verdicts == (PROVIDER_FITS,)
    assert decision.histogram == {}


def test_provision_rather_than_wait_for_a_busy_worker() -> None:
    decision = _place(workers=[replace(WORKER, slots_used=2)], providers=[PROVIDER_FITS])
    assert decision.outcome is Outcome.PROVISION


def test_a_live_worker_that_fits_beats_provisioning() -> None:
    decision = _place(providers=[PROVIDER_FITS])
    assert (decision.outcome, decision.worker_id) == (Outcome.PLACED, "w1")


def test_provider_verdicts_follow_worker_verdicts_in_order() -> None:
    other = Verdict("exec", "provider", Reason.SELECTOR_MISMATCH, "provider exec: no gpu images", False)
    workers = [replace(WORKER, id="a", slots_used=2), replace(WORKER, id="b", draining=True)]
    decision = _place(workers=workers, providers=[other, PROVIDER_FITS])
    assert [(v.target, v.kind) for v in decision.verdicts] == [
        ("a", "worker"),
        ("b", "worker"),
        ("exec", "provider"),
        ("local", "provider"),
    ]
    assert decision.outcome is Outcome.PROVISION


def test_decision_names_job_and_strategy() -> None:
    decision = _place(policy=Policy(strategy=Strategy.BIN_PACK))
    assert (decision.job_id, decision.strategy) == ("j1", Strategy.BIN_PACK)


def test_default_policy() -> None:
    assert Policy() == Policy(strategy=Strategy.LEAST_LOADED, heartbeat_stale_after=15.0)


# Strategies: z does not fit (draining); a, b, c, d fit and each strategy prefers another.
STRATEGY_WORKERS = [
    WorkerState("z", slots_total=4, cpu_total=32.0, draining=True),
    WorkerState("a", slots_total=4, slots_used=2, cpu_total=4.0),  # load .50, capacity 4+2
    WorkerState("b", slots_total=4, slots_used=1, cpu_total=2.0, cpu_used=1.0),  # .25, 1+3
    WorkerState("c", slots_total=4, slots_used=3, cpu_total=2.0),  # .75, 2+1
    WorkerState("d", slots_total=8, slots_used=4, cpu_total=16.0),  # .50, 16+4
]


@pytest.mark.parametrize(
    ("strategy", "chosen", "scores"),
    [
        pytest.param(
            Strategy.FIRST_AVAILABLE,
            "a",
            {"a": -1.0, "b": -2.0, "c": -3.0, "d": -4.0},
            id="first-available",
        ),
        pytest.param(
            Strategy.LEAST_LOADED, "b", {"a": 0.5, "b": 0.75, "c": 0.25, "d": 0.5}, id="least-loaded"
        ),
        pytest.param(
            Strategy.MOST_CAPACITY, "d", {"a": 6.0, "b": 4.0, "c": 3.0, "d": 20.0}, id="most-capacity"
        ),
        pytest.param(Strategy.BIN_PACK, "c", {"a": 0.5, "b": 0.25, "c": 0.75, "d": 0.5}, id="bin-pack"),
    ],
)
def test_strategy_choice(strategy: Strategy, chosen: str, scores: dict[str, float]) -> None:
    decision = _place(JobNeeds("j1", cpu=1.0), STRATEGY_WORKERS, policy=Policy(strategy=strategy))
    assert (decision.outcome, decision.worker_id, decision.strategy) == (Outcome.PLACED, chosen, strategy)
    got = {v.target: v.score for v in _worker_verdicts(decision) if v.reason is Reason.FITS}
    assert got == pytest.approx(scores)
    assert _worker_verdicts(decision)[0].score is None
    assert decision.summary() == f"placed on {chosen} ({strategy.value})"


@pytest.mark.parametrize("strategy", [pytest.param(s, id=s.value) for s in Strategy])
def test_ties_go_to_the_earlier_worker(strategy: Strategy) -> None:
    twins = [replace(WORKER, id="first"), replace(WORKER, id="second")]
    assert _place(workers=twins, policy=Policy(strategy=strategy)).worker_id == "first"


@pytest.mark.parametrize("strategy", [pytest.param(s, id=s.value) for s in Strategy])
def test_a_worker_that_does_not_fit_is_never_chosen(strategy: Strategy) -> None:
    # (round-robin included: its rotation only orders the workers that fit)
    workers = [
        WorkerState("idle-but-draining", slots_total=8, cpu_total=64.0, draining=True),
        WorkerState("full", slots_total=8, slots_used=8, cpu_total=64.0),
        WorkerState("ok", slots_total=2, slots_used=1, cpu_total=1.0),
    ]
    assert _place(JobNeeds("j", cpu=1.0), workers, policy=Policy(strategy)).worker_id == "ok"


def test_strategy_values_are_the_policy_names() -> None:
    assert [s.value for s in Strategy] == [
        "first-available", "least-loaded", "round-robin", "most-capacity", "bin-pack",
    ]  # fmt: skip


# Trace and histogram.


def test_histogram_counts_every_reason_but_fits() -> None:
    workers = [
        replace(WORKER, id="full-1", slots_used=2),
        replace(WORKER, id="full-2", slots_used=2),
        replace(WORKER, id="no-gpu", labels={}),
        replace(WORKER, id="down", live=False),
        replace(WORKER, id="ok"),
    ]
    decision = _place(replace(JOB, selector=parse(["gpu"])), workers)
    assert decision.worker_id == "ok"
    assert decision.histogram == {
        "NO_FREE_SLOT": 2,
        "SELECTOR_MISMATCH": 1,
        "STREAM_DOWN": 1,
        "NO_PROVIDER": 1,
    }


def test_histogram_counts_provider_reasons() -> None:
    at_max = Verdict("local", "provider", Reason.NO_FREE_SLOT, "provider local: at max 4")
    decision = _place(workers=[replace(WORKER, slots_used=2)], providers=[at_max])
    assert decision.histogram == {"NO_FREE_SLOT": 2}


def test_summary_of_a_waiting_job_lists_reasons_in_order() -> None:
    workers = [
        replace(WORKER, id="full", slots_used=2),
        replace(WORKER, id="no-gpu", labels={}),
        replace(WORKER, id="stale", heartbeat_age=99.0),
    ]
    decision = _place(replace(JOB, selector=parse(["gpu"])), workers)
    assert decision.outcome is Outcome.WAITING
    assert (
        decision.summary() == "WAITING: 1 HEARTBEAT_STALE, 1 NO_FREE_SLOT, 1 NO_PROVIDER, 1 SELECTOR_MISMATCH"
    )


def test_every_worker_gets_exactly_one_verdict_in_order() -> None:
    workers = [replace(WORKER, id=f"w{i}", slots_used=i % 3) for i in range(7)]
    decision = _place(workers=workers)
    assert [v.target for v in _worker_verdicts(decision)] == [f"w{i}" for i in range(7)]


# place_batch: capacity taken by earlier jobs, and no head-of-line blocking.


def test_batch_second_job_waits_for_the_only_slot() -> None:
    worker = WorkerState("w1", slots_total=1, cpu_total=1.0, memory_total=1024)
    decisions = place_batch([JobNeeds("j1"), JobNeeds("j2")], [worker], [], Policy())
    assert [(d.job_id, d.outcome, d.worker_id) for d in decisions] == [
        ("j1", Outcome.PLACED, "w1"),
        ("j2", Outcome.WAITING, None),
    ]
    (verdict,) = _worker_verdicts(decisions[1])
    assert (verdict.reason, verdict.message) == (Reason.NO_FREE_SLOT, "slots: 1 of 1 in use")


def test_batch_accounts_cpu() -> None:
    worker = WorkerState("w1", slots_total=4, cpu_total=2.0)
    jobs = [JobNeeds("j1", cpu=1.5), JobNeeds("j2", cpu=1.0), JobNeeds("j3", cpu=0.5)]
    decisions = place_batch(jobs, [worker], [], Policy())
    assert [d.worker_id for d in decisions] == ["w1", None, "w1"]
    assert decisions[1].verdicts[0].message == "cpu: needs 1, 0.5 free"


def test_batch_accounts_memory() -> None:
    worker = WorkerState("w1", slots_total=4, memory_total=1024)
    jobs = [JobNeeds("j1", memory_mb=600), JobNeeds("j2", memory_mb=600), JobNeeds("j3", memory_mb=424)]
    decisions = place_batch(jobs, [worker], [], Policy())
    assert [d.worker_id for d in decisions] == ["w1", None, "w1"]
    assert decisions[1].verdicts[0].message == "memory: needs 600 MB, 424 MB free"


def test_batch_unplaceable_first_job_does_not_block_the_next() -> None:
    jobs = [JobNeeds("gpu-job", selector=parse(["gpu=true"])), JobNeeds("plain")]
    decisions = place_batch(jobs, [WorkerState("w1", slots_total=1)], [], Policy())
    assert [(d.job_id, d.outcome) for d in decisions] == [
        ("gpu-job", Outcome.UNPLACEABLE),
        ("plain", Outcome.PLACED),
    ]


def test_batch_waiting_first_job_does_not_block_a_smaller_one() -> None:
    worker = WorkerState("w1", slots_total=2, cpu_total=4.0, cpu_used=3.0)
    jobs = [JobNeeds("big", cpu=2.0), JobNeeds("small", cpu=1.0)]
    decisions = place_batch(jobs, [worker], [], Policy())
    assert [(d.outcome, d.worker_id) for d in decisions] == [(Outcome.WAITING, None), (Outcome.PLACED, "w1")]


@pytest.mark.parametrize(
    ("strategy", "chosen"),
    [
        pytest.param(Strategy.LEAST_LOADED, ["a", "b", "a", "b"], id="least-loaded-spreads"),
        pytest.param(Strategy.BIN_PACK, ["a", "a", "a", "b"], id="bin-pack-fills"),
        pytest.param(Strategy.FIRST_AVAILABLE, ["a", "a", "a", "b"], id="first-available-fills"),
        pytest.param(Strategy.MOST_CAPACITY, ["a", "b", "a", "b"], id="most-capacity-spreads"),
    ],
)
def test_batch_strategy_sees_earlier_placements(strategy: Strategy, chosen: list[str]) -> None:
    workers = [WorkerState("a", slots_total=3, cpu_total=3.0), WorkerState("b", slots_total=3, cpu_total=3.0)]
    jobs = [JobNeeds(f"j{i}", cpu=1.0) for i in range(4)]
    decisions = place_batch(jobs, workers, [], Policy(strategy))
    assert [d.worker_id for d in decisions] == chosen


def test_batch_of_nothing() -> None:
    assert place_batch([], [WORKER], [], Policy()) == []


def test_with_job_takes_one_slot_and_the_job_resources() -> None:
    job = JobNeeds("j", cpu=1.5, memory_mb=256)
    assert WORKER.with_job(job) == replace(WORKER, slots_used=1, cpu_used=1.5, memory_used=256)


# Property: whatever the fleet, a placed job went to a worker that can really take it.

KEYS = ("gpu", "zone", "os")
VALUES = ("a", "b", "c")


def _satisfies(term: Term, labels: Mapping[str, str]) -> bool:
    has = term.key in labels
    value = labels.get(term.key)
    if term.op == "=":
        return has and value == term.values[0]
    if term.op == "!=":
        return not has or value != term.values[0]
    if term.op == "exists":
        return has
    if term.op == "absent":
        return not has
    if term.op == "in":
        return has and value in term.values
    assert term.op == "notin"
    return not has or value not in term.values


_keys = st.sampled_from(KEYS)
_value_sets = st.lists(st.sampled_from(VALUES), min_size=1, max_size=3, unique=True).map(tuple)
terms = st.one_of(
    st.builds(Term, _keys, st.sampled_from(["=", "!="]), st.sampled_from(VALUES).map(lambda v: (v,))),
    st.builds(Term, _keys, st.sampled_from(["exists", "absent"])),
    st.builds(Term, _keys, st.sampled_from(["in", "notin"]), _value_sets),
)
cpus = st.sampled_from([0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 4.0, 8.0])


@st.composite
def jobs(draw: st.DrawFn, job_id: str = "j") -> JobNeeds:
    return JobNeeds(
        job_id,
        selector=tuple(draw(st.lists(terms, max_size=3))),
        cpu=draw(cpus),
        memory_mb=draw(st.sampled_from([0, 128, 512, 1024, 4096])),
    )


@st.composite
def fleets(draw: st.DrawFn) -> list[WorkerState]:
    fleet = []
    for i in range(draw(st.integers(0, 6))):
        slots_total = draw(st.integers(0, 4))
        cpu_total = draw(cpus)
        memory_total = draw(st.sampled_from([0, 512, 1024, 4096, 8192]))
        fleet.append(
            WorkerState(
                f"w{i}",
                slots_total=slots_total,
                slots_used=draw(st.integers(0, slots_total)),
                cpu_total=cpu_total,
                cpu_used=draw(st.floats(0.0, cpu_total)),
                memory_total=memory_total,
                memory_used=draw(st.integers(0, memory_total)),
                labels=draw(st.dictionaries(_keys, st.sampled_from(VALUES), max_size=3)),
                live=draw(st.booleans()),
                draining=draw(st.booleans()),
                heartbeat_age=draw(st.floats(0.0, 30.0)),
            )
        )
    return fleet


def _can_take(job: JobNeeds, w: WorkerState, policy: Policy) -> bool:
    return (
        w.live
        and not w.draining
        and w.heartbeat_age <= policy.heartbeat_stale_after
        and w.slots_used < w.slots_total
        and job.cpu <= w.cpu_total - w.cpu_used + 1e-9
        and job.memory_mb <= w.memory_total - w.memory_used
        and all(_satisfies(t, w.labels) for t in job.selector)
    )


@settings(database=None)
@given(job=jobs(), fleet=fleets(), strategy=st.sampled_from(Strategy), with_provider=st.booleans())
def test_placed_worker_can_take_the_job(
    job: JobNeeds, fleet: list[WorkerState], strategy: Strategy, with_provider: bool
) -> None:
    policy = Policy(strategy)
    providers = [PROVIDER_FITS] if with_provider else []
    decision = place(job, fleet, providers, policy)
    by_id = {w.id: w for w in fleet}
    assert [v.target for v in _worker_verdicts(decision)] == list(by_id)
    assert (decision.outcome is Outcome.PLACED) == (decision.worker_id is not None)
    fits = {v.target for v in _worker_verdicts(decision) if v.reason is Reason.FITS}
    assert (decision.outcome is Outcome.PLACED) == bool(fits)
    for target in fits:
        assert _can_take(job, by_id[target], policy)
    if decision.worker_id is not None:
        assert decision.worker_id in fits
        worker = by_id[decision.worker_id]
        assert worker.live and not worker.draining
        assert worker.slots_used < worker.slots_total
        assert _can_take(job, worker, policy)
    elif with_provider:
        assert decision.outcome is Outcome.PROVISION
    else:
        assert decision.outcome in (Outcome.WAITING, Outcome.UNPLACEABLE)
        could_fit = any(v.could_fit for v in _worker_verdicts(decision))
        assert decision.outcome is (Outcome.WAITING if could_fit else Outcome.UNPLACEABLE)


@settings(database=None)
@given(
    batch=st.lists(jobs(), max_size=8).map(lambda js: [replace(j, job_id=f"j{i}") for i, j in enumerate(js)]),
    fleet=fleets(),
    strategy=st.sampled_from(Strategy),
)
def test_batch_never_overcommits_a_worker(
    batch: list[JobNeeds], fleet: list[WorkerState], strategy: Strategy
) -> None:
    decisions = place_batch(batch, fleet, [], Policy(strategy))
    assert [d.job_id for d in decisions] == [j.job_id for j in batch]
    needs = {j.job_id: j for j in batch}
    placed: dict[str, list[JobNeeds]] = {}
    for d in decisions:
        if d.worker_id is not None:
            placed.setdefault(d.worker_id, []).append(needs[d.job_id])
    for w in fleet:
        mine = placed.get(w.id, [])
        assert w.slots_used + len(mine) <= w.slots_total
        assert w.cpu_used + sum(j.cpu for j in mine) <= w.cpu_total + 1e-9
        assert w.memory_used + sum(j.memory_mb for j in mine) <= w.memory_total


# Round-robin.


@pytest.mark.parametrize(
    ("cursor", "chosen"),
    [(0, "a"), (1, "b"), (2, "c"), (3, "a"), (4, "b")],
)
def test_round_robin_starts_at_the_cursor(cursor: int, chosen: str) -> None:
    workers = [WorkerState(w, slots_total=4, cpu_total=4.0) for w in "abc"]
    policy = Policy(Strategy.ROUND_ROBIN, cursor=cursor)
    assert _place(JobNeeds("j"), workers, policy=policy).worker_id == chosen


def test_round_robin_skips_workers_that_do_not_fit() -> None:
    workers = [
        WorkerState("a", slots_total=1, cpu_total=4.0),
        WorkerState("b", slots_total=1, slots_used=1, cpu_total=4.0),
        WorkerState("c", slots_total=1, cpu_total=4.0),
    ]
    assert _place(JobNeeds("j"), workers, policy=Policy(Strategy.ROUND_ROBIN, cursor=1)).worker_id == "c"


def test_round_robin_batch_rotates_over_the_workers() -> None:
    workers = [WorkerState(w, slots_total=4, cpu_total=4.0) for w in "abc"]
    jobs = [JobNeeds(f"j{i}") for i in range(5)]
    decisions = place_batch(jobs, workers, [], Policy(Strategy.ROUND_ROBIN))
    assert [d.worker_id for d in decisions] == ["a", "b", "c", "a", "b"]


def test_counts_split_workers_the_way_nomad_does() -> None:
    workers = [
        WorkerState("fits", slots_total=1, cpu_total=4.0),
        WorkerState("busy", slots_total=1, slots_used=1, cpu_total=4.0),
        WorkerState("small", slots_total=1, cpu_total=1.0),
    ]
    decision = _place(JobNeeds("j", cpu=2.0), workers)
    assert decision.counts == (3, 1, 1, 1)


def test_a_clock_times_each_decision() -> None:
    ticks = iter([0.0, 0.002, 1.0, 1.0005])
    decisions = place_batch([JobNeeds("a"), JobNeeds("b")], [WORKER], [], Policy(), clock=lambda: next(ticks))
    assert [round(d.duration_ms, 3) for d in decisions] == [2.0, 0.5]
