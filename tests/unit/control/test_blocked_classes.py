"""BlockedClasses: classes skipped until a change that could make room for them."""

from __future__ import annotations

from dataclasses import replace

from hodeid.control.blocked import BlockedClasses
from hodeid.domain.classes import snapshot
from hodeid.domain.placement import Outcome, WorkerState

FULL = WorkerState("w", slots_total=1, slots_used=1, labels={"gpu": "false"})
FREE = replace(FULL, slots_used=0)


def test_a_freed_slot_reopens_waiting_classes_but_not_unplaceable_ones() -> None:
    blocked = BlockedClasses()
    blocked.block({"gpu": Outcome.UNPLACEABLE, "plain": Outcome.WAITING}, snapshot([FULL], [], 15))
    assert sorted(blocked.names()) == ["gpu", "plain"]
    assert blocked.reopen(snapshot([FULL], [], 15)) == 0
    assert blocked.reopen(snapshot([FREE], [], 15)) == 1
    assert blocked.names() == ["gpu"]


def test_a_new_worker_reopens_every_class() -> None:
    blocked = BlockedClasses()
    blocked.block({"gpu": Outcome.UNPLACEABLE}, snapshot([FULL], [], 15))
    blocked.block({"plain": Outcome.WAITING}, snapshot([FULL], [], 15))
    gpu = WorkerState("g", slots_total=1, labels={"gpu": "true"})
    assert blocked.reopen(snapshot([FULL, gpu], [], 15)) == 2
    assert blocked.names() == [] and len(blocked) == 0


def test_a_class_blocked_again_keeps_the_snapshot_it_was_first_judged_on() -> None:
    blocked = BlockedClasses()
    blocked.block({"plain": Outcome.WAITING}, snapshot([FULL], [], 15))
    blocked.block({"plain": Outcome.WAITING}, snapshot([FREE], [], 15))
    assert len(blocked) == 1
    assert blocked.reopen(snapshot([FREE], [], 15)) == 1
