"""Autoscaling arithmetic: provider verdicts, the over-provisioning guard, idle stops, back-off."""

from __future__ import annotations

import pytest

from hodeid.domain.placement import JobNeeds, Outcome, Policy, Reason, place, place_batch
from hodeid.domain.scaling import (
    Offer,
    ProviderState,
    idle_to_stop,
    retry_delay,
    verdict,
    workers_to_create,
)
from hodeid.domain.selectors import parse

OFFER = Offer(labels={"zone": "eu"}, slots=1, cpu=4, memory_mb=8192)


def state(**kw: object) -> ProviderState:
    return ProviderState("local", kw.pop("offer", OFFER), **kw)  # type: ignore[arg-type]


# job, provider state -> reason, message, could_fit
VERDICTS = [
    ("room", JobNeeds("j"), state(max=4), Reason.FITS, "would create worker with labels {zone=eu}", True),
    ("selector-ok", JobNeeds("j", parse(["zone=eu"])), state(max=1), Reason.FITS,
     "would create worker with labels {zone=eu}", True),
    ("selector-missing", JobNeeds("j", parse(["gpu=true"])), state(max=4), Reason.PROVIDER_CANNOT_FIT,
     "cannot provide gpu=true: its workers have none", False),
    ("selector-other", JobNeeds("j", parse(["zone=us"])), state(max=4), Reason.PROVIDER_CANNOT_FIT,
     "cannot provide zone=us: its workers have zone=eu", False),
    ("too-much-cpu", JobNeeds("j", cpu=8), state(max=4), Reason.PROVIDER_CANNOT_FIT,
     "cannot provide cpu 8: its workers have 4", False),
    ("too-much-memory", JobNeeds("j", memory_mb=9000), state(max=4), Reason.PROVIDER_CANNOT_FIT,
     "cannot provide 9000 MB: its workers have 8192 MB", False),
    ("at-max", JobNeeds("j"), state(max=4, connected=4), Reason.PROVIDER_AT_MAX, "at max 4", True),
    ("at-max-starting", JobNeeds("j"), state(max=4, connected=3, provisioning=1), Reason.FITS,
     "at max 4; 1 worker(s) starting", True),
    ("failing", JobNeeds("j"), state(max=4, last_error="create command exited with 1", retry_in=7.4),
     Reason.PROVIDER_FAILING, "failing: create command exited with 1; next try in 7 s", True),
    ("failing-but-cannot-fit-anyway", JobNeeds("j", cpu=8), state(max=4, retry_in=3, last_error="x"),
     Reason.PROVIDER_CANNOT_FIT, "cannot provide cpu 8: its workers have 4", False),
    ("error-after-backoff", JobNeeds("j"), state(max=4, last_error="old"), Reason.FITS,
     "would create worker with labels {zone=eu}", True),
]  # fmt: skip


@pytest.mark.parametrize(
    ("job", "provider", "reason", "message", "could_fit"),
    [case[1:] for case in VERDICTS],
    ids=[case[0] for case in VERDICTS],
)
def test_verdict(
    job: JobNeeds, provider: ProviderState, reason: Reason, message: str, could_fit: bool
) -> None:
    assert verdict(job, provider) == ("local", "provider", reason, message, could_fit, None)


# demand (jobs waiting on the provider), provider state -> workers to create
GUARD = [
    ("nothing-wanted", 0, state(max=4), 0),
    ("one-job", 1, state(max=4), 1),
    ("queue-capped-at-max", 100, state(max=4), 4),
    ("provisioning-covers-demand", 3, state(max=4, provisioning=3), 0),
    ("provisioning-covers-part", 3, state(max=4, provisioning=1), 2),
    ("connected-count-toward-max", 100, state(max=4, connected=3), 1),
    ("at-max", 100, state(max=4, connected=2, provisioning=2), 0),
    ("slots-per-worker", 7, state(max=10, offer=Offer(slots=4)), 2),
    ("slots-in-flight", 7, state(max=10, provisioning=1, offer=Offer(slots=4)), 1),
    ("slots-in-flight-cover", 4, state(max=10, provisioning=1, offer=Offer(slots=4)), 0),
    ("min-without-demand", 0, state(min=2, max=4), 2),
    ("min-met", 0, state(min=2, max=4, connected=2), 0),
    ("min-counts-provisioning", 0, state(min=2, max=4, provisioning=1), 1),
    ("demand-above-min", 5, state(min=2, max=8), 5),
    ("backing-off", 5, state(max=8, retry_in=2.0), 0),
    ("backing-off-below-min", 0, state(min=2, max=8, retry_in=2.0), 0),
    ("over-max-already", 5, state(max=2, connected=3), 0),
]


@pytest.mark.parametrize(
    ("demand", "provider", "expected"), [c[1:] for c in GUARD], ids=[c[0] for c in GUARD]
)
def test_workers_to_create(demand: int, provider: ProviderState, expected: int) -> None:
    assert workers_to_create(demand, provider) == expected


def test_a_queue_seen_on_every_tick_never_starts_more_than_max() -> None:
    provider = state(max=4)
    for _tick in range(50):
        provider = state(max=4, provisioning=provider.provisioning + workers_to_create(100, provider))
    assert provider.total == 4


# seconds each idle worker has been idle, provider state, idle timeout -> workers to stop
IDLE = [
    ("none-idle", [], state(max=4, connected=2), 60, 0),
    ("not-yet", [10, 59.9], state(max=4, connected=2), 60, 0),
    ("one-expired", [10, 60], state(max=4, connected=2), 60, 1),
    ("all-expired", [61, 62, 63], state(max=4, connected=3), 60, 3),
    ("min-kept", [61, 62, 63], state(min=2, max=4, connected=3), 60, 1),
    ("min-counts-busy", [61], state(min=2, max=4, connected=3), 60, 1),
    ("at-min", [61, 62], state(min=2, max=4, connected=2), 60, 0),
    ("zero-timeout", [0, 0], state(max=4, connected=2), 0, 2),
]


@pytest.mark.parametrize(
    ("idle_for", "provider", "timeout", "expected"), [c[1:] for c in IDLE], ids=[c[0] for c in IDLE]
)
def test_idle_to_stop(idle_for: list[float], provider: ProviderState, timeout: float, expected: int) -> None:
    assert idle_to_stop(idle_for, provider, timeout) == expected


@pytest.mark.parametrize(
    ("failures", "expected"), [(0, 0.0), (1, 1.0), (2, 2.0), (3, 4.0), (6, 32.0), (7, 60.0), (1000, 60.0)]
)
def test_retry_delay_doubles_up_to_the_cap(failures: int, expected: float) -> None:
    assert retry_delay(failures) == expected


def test_placement_provisions_when_no_worker_fits_and_a_provider_would() -> None:
    decision = place(JobNeeds("j"), [], [verdict(JobNeeds("j"), state(max=2))], Policy())
    assert decision.outcome is Outcome.PROVISION
    assert decision.summary() == (
        "PROVISION: no worker is connected; provider local: would create worker with labels {zone=eu}"
    )


def test_placement_waits_on_a_provider_at_max_or_failing() -> None:
    at_max = verdict(JobNeeds("j"), state(max=2, connected=2))
    failing = verdict(JobNeeds("j"), state(max=2, retry_in=5, last_error="boom"))
    assert place(JobNeeds("j"), [], [at_max], Policy()).outcome is Outcome.WAITING
    assert place(JobNeeds("j"), [], [failing], Policy()).outcome is Outcome.WAITING
    cannot = verdict(JobNeeds("j", cpu=99), state(max=2))
    assert place(JobNeeds("j", cpu=99), [], [cannot], Policy()).outcome is Outcome.UNPLACEABLE


def test_place_batch_asks_the_providers_about_each_job() -> None:
    provider = state(max=2)
    jobs = [JobNeeds("plain"), JobNeeds("gpu", parse(["gpu=true"]))]
    decisions = place_batch(jobs, [], lambda job: [verdict(job, provider)], Policy())
    assert [d.outcome for d in decisions] == [Outcome.PROVISION, Outcome.UNPLACEABLE]
