"""Placement classes: which jobs share one, and which changes of workers and providers make a
class that fitted nowhere worth another look."""

from __future__ import annotations

from dataclasses import replace

import pytest

from hodei_api import v1
from hodeid.domain.classes import class_of, may_fit_now, placement_class, snapshot
from hodeid.domain.placement import Outcome, WorkerState
from hodeid.domain.scaling import Offer, ProviderState

Needs = tuple[list[str], float, int]

# Two jobs asking for these get one class: only where they fit counts.
SAME: list[tuple[str, Needs, Needs]] = [
    ("identical", (["gpu=true"], 1.0, 512), (["gpu=true"], 1.0, 512)),
    ("term-order", (["gpu=true", "zone=eu"], 0, 0), (["zone=eu", "gpu=true"], 0, 0)),
    ("repeated-term", (["gpu=true", "gpu=true"], 0, 0), (["gpu=true"], 0, 0)),
    ("spacing", (["gpu = true"], 0, 0), (["gpu=true"], 0, 0)),
    ("double-equals", (["gpu==true"], 0, 0), (["gpu=true"], 0, 0)),
    ("set-order", (["zone in (b,a)"], 0, 0), (["zone in (a,b)"], 0, 0)),
    ("int-cpu", ([], 2, 0), ([], 2.0, 0)),
    ("no-needs", ([], 0, 0), ([], 0.0, 0)),
]

# These differ in where they may fit, so they never share a class.
DIFFERENT: list[tuple[str, Needs, Needs]] = [
    ("label-value", (["gpu=true"], 0, 0), (["gpu=false"], 0, 0)),
    ("label-vs-none", (["gpu=true"], 0, 0), ([], 0, 0)),
    ("negation", (["gpu!=true"], 0, 0), (["gpu=true"], 0, 0)),
    ("exists-vs-absent", (["gpu"], 0, 0), (["!gpu"], 0, 0)),
    ("in-vs-notin", (["zone in (a,b)"], 0, 0), (["zone notin (a,b)"], 0, 0)),
    ("extra-term", (["gpu=true", "zone=eu"], 0, 0), (["gpu=true"], 0, 0)),
    ("cpu", ([], 1.0, 0), ([], 2.0, 0)),
    ("cpu-fraction", ([], 0.5, 0), ([], 0.25, 0)),
    ("memory", ([], 0, 512), ([], 0, 1024)),
    ("cpu-vs-memory", ([], 1.0, 0), ([], 0, 1)),
]


@pytest.mark.parametrize(("name", "a", "b"), SAME, ids=[row[0] for row in SAME])
def test_jobs_that_fit_alike_share_a_class(name: str, a: Needs, b: Needs) -> None:
    assert placement_class(*a) == placement_class(*b)


@pytest.mark.parametrize(("name", "a", "b"), DIFFERENT, ids=[row[0] for row in DIFFERENT])
def test_jobs_that_may_fit_differently_never_share_one(name: str, a: Needs, b: Needs) -> None:
    assert placement_class(*a) != placement_class(*b)


def test_the_class_is_short_whatever_the_selector_and_ignores_the_rest_of_the_spec() -> None:
    long = [f"key{i}=" + "v" * 1000 for i in range(64)]
    assert len(placement_class(long, 1.0, 1)) == 32
    a = v1.JobSpec(command=["a"], selector=["gpu=true"], priority=9, resources=v1.Resources(cpu=1.0))
    b = v1.JobSpec(command=["b"], selector=["gpu=true"], priority=0, name="other", timeout_seconds=5)
    assert class_of(a) == placement_class(["gpu=true"], 1.0, 0)
    assert class_of(b) == placement_class(["gpu=true"], 0.0, 0)


PLAIN = WorkerState("plain", slots_total=2, cpu_total=2.0, memory_total=2048, labels={"gpu": "false"})
BUSY = replace(PLAIN, slots_used=2, cpu_used=2.0, memory_used=2048)
LOCAL = ProviderState("local", Offer(labels={"gpu": "false"}), max=2)
STALE_AFTER = 15.0
W, P, U = Outcome.WAITING, Outcome.PROVISION, Outcome.UNPLACEABLE

# (name, outcome the class got, workers then, workers now, providers then, providers now,
#  whether it must be looked at again)
Change = tuple[
    str, Outcome, list[WorkerState], list[WorkerState], list[ProviderState], list[ProviderState], bool
]
CHANGES: list[Change] = [
    ("nothing-changed", U, [PLAIN], [PLAIN], [LOCAL], [LOCAL], False),
    ("nothing-changed-waiting", W, [BUSY], [BUSY], [LOCAL], [LOCAL], False),
    ("unplaceable-slot-freed", U, [BUSY], [PLAIN], [LOCAL], [LOCAL], False),
    ("unplaceable-slot-taken", U, [PLAIN], [BUSY], [LOCAL], [LOCAL], False),
    ("unplaceable-worker-gone", U, [PLAIN], [], [LOCAL], [LOCAL], False),
    ("unplaceable-heartbeat", U, [PLAIN], [replace(PLAIN, heartbeat_age=99)], [LOCAL], [LOCAL], False),
    ("unplaceable-drain-ends", U, [replace(PLAIN, draining=True)], [PLAIN], [LOCAL], [LOCAL], False),
    ("unplaceable-provisioning", U, [PLAIN], [PLAIN], [LOCAL], [replace(LOCAL, provisioning=1)], False),
    ("unplaceable-new-worker", U, [PLAIN], [PLAIN, replace(PLAIN, id="gpu")], [LOCAL], [LOCAL], True),
    (
        "unplaceable-same-id-new-labels",
        U,
        [PLAIN],
        [replace(PLAIN, labels={"gpu": "true"})],
        [LOCAL],
        [LOCAL],
        True,
    ),
    ("unplaceable-more-cpu", U, [PLAIN], [replace(PLAIN, cpu_total=64.0)], [LOCAL], [LOCAL], True),
    (
        "unplaceable-new-offer",
        U,
        [PLAIN],
        [PLAIN],
        [LOCAL],
        [replace(LOCAL, offer=Offer(labels={"gpu": "true"}))],
        True,
    ),
    ("unplaceable-new-provider", U, [PLAIN], [PLAIN], [], [LOCAL], True),
    ("waiting-slot-freed", W, [BUSY], [replace(BUSY, slots_used=1)], [LOCAL], [LOCAL], True),
    ("waiting-cpu-freed", W, [BUSY], [replace(BUSY, cpu_used=1.5)], [LOCAL], [LOCAL], True),
    ("waiting-memory-freed", W, [BUSY], [replace(BUSY, memory_used=1024)], [LOCAL], [LOCAL], True),
    ("waiting-slot-taken", W, [PLAIN], [replace(PLAIN, slots_used=1)], [LOCAL], [LOCAL], False),
    ("waiting-float-noise", W, [BUSY], [replace(BUSY, cpu_used=2.0 - 1e-12)], [LOCAL], [LOCAL], False),
    ("waiting-worker-gone", W, [BUSY, PLAIN], [BUSY], [LOCAL], [LOCAL], False),
    ("waiting-new-worker", W, [BUSY], [BUSY, replace(PLAIN, id="new")], [LOCAL], [LOCAL], True),
    ("waiting-drain-ends", W, [replace(PLAIN, draining=True)], [PLAIN], [LOCAL], [LOCAL], True),
    ("waiting-drain-starts", W, [PLAIN], [replace(PLAIN, draining=True)], [LOCAL], [LOCAL], False),
    ("waiting-heartbeat-back", W, [replace(PLAIN, heartbeat_age=99)], [PLAIN], [LOCAL], [LOCAL], True),
    ("waiting-heartbeat-lost", W, [PLAIN], [replace(PLAIN, heartbeat_age=99)], [LOCAL], [LOCAL], False),
    ("waiting-backoff-over", W, [BUSY], [BUSY], [replace(LOCAL, retry_in=5.0)], [LOCAL], True),
    (
        "waiting-backoff-ticks",
        W,
        [BUSY],
        [BUSY],
        [replace(LOCAL, retry_in=5.0)],
        [replace(LOCAL, retry_in=4.0, last_error="boom")],
        False,
    ),
    (
        "provision-worker-joined",
        P,
        [],
        [],
        [replace(LOCAL, provisioning=1)],
        [replace(LOCAL, connected=1)],
        True,
    ),
]


@pytest.mark.parametrize(
    ("name", "outcome", "workers_then", "workers_now", "providers_then", "providers_now", "again"),
    CHANGES,
    ids=[row[0] for row in CHANGES],
)
def test_a_skipped_class_is_looked_at_again_only_when_room_may_have_been_made(
    name: str,
    outcome: Outcome,
    workers_then: list[WorkerState],
    workers_now: list[WorkerState],
    providers_then: list[ProviderState],
    providers_now: list[ProviderState],
    again: bool,
) -> None:
    then = snapshot(workers_then, providers_then, STALE_AFTER)
    now = snapshot(workers_now, providers_now, STALE_AFTER)
    assert may_fit_now(outcome, then, now) is again


@pytest.mark.parametrize(("outcome", "again"), [(W, True), (P, True), (U, False)])
def test_a_provider_change_undone_between_two_looks_still_counts(outcome: Outcome, again: bool) -> None:
    """A create that failed and a back-off that ended, both while the scheduler did not look:
    the providers look as before, but the fleet's count of changes moved on."""
    then = snapshot([BUSY], [LOCAL], STALE_AFTER, provider_changes=3)
    now = snapshot([BUSY], [LOCAL], STALE_AFTER, provider_changes=5)
    assert may_fit_now(outcome, then, now) is again
