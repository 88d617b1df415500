"""Placement classes, as Nomad's computed classes: jobs that ask for the same things (selector,
cpu, memory) fit the same workers, so when one of them fits nowhere the others do not either,
until the workers or the providers change in a way that could make room. The scheduler then
skips the whole class instead of looking at each of its jobs again on every pass."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from hodei_api.gen.hodei.v1 import JobSpec, Resources
from hodeid.domain.placement import EPSILON, Outcome, WorkerState
from hodeid.domain.scaling import Offer, ProviderState
from hodeid.domain.selectors import Term, parse

__all__ = ["Snapshot", "class_of", "may_fit_now", "placement_class", "snapshot"]


def _canonical(term: Term) -> str:
    if term.op in ("in", "notin"):
        # A set: its order means nothing.
        return f"{term.key} {term.op} ({','.join(sorted(set(term.values)))})"
    return term.text


def placement_class(selector: Sequence[str], cpu: float, memory_mb: int) -> str:
    """The class of a job asking for ``selector``, ``cpu`` and ``memory_mb``: equal for two
    jobs exactly when every worker and provider answers both alike. Priority, command and the
    rest play no part in where a job fits. 32 hex digits, whatever the selector's length."""
    terms = sorted({_canonical(t) for t in parse(selector)})
    needs = "\n".join([repr(float(cpu)), str(int(memory_mb)), *terms])
    return hashlib.sha256(needs.encode()).hexdigest()[:32]


def class_of(spec: JobSpec) -> str:
    """The placement class of a (validated) job spec."""
    resources = spec.resources or Resources()
    return placement_class(spec.selector, resources.cpu, resources.memory_mb)


def _shape(w: WorkerState) -> tuple[object, ...]:
    """What of a worker decides which jobs it could ever take."""
    return tuple(sorted(w.labels.items())), w.slots_total, w.cpu_total, w.memory_total


def _offer(o: Offer) -> tuple[object, ...]:
    return tuple(sorted(o.labels.items())), o.slots, o.cpu, o.memory_mb


@dataclass(frozen=True)
class Snapshot:
    """The workers and providers as placement saw them, once the jobs it placed were counted."""

    workers: Mapping[str, WorkerState]
    stale: frozenset[str]
    """Workers whose heartbeat was stale."""
    offers: tuple[tuple[str, tuple[object, ...]], ...]
    """Each provider and what its workers offer: all that decides whether it could ever help."""
    providers: tuple[tuple[object, ...], ...]
    """Each provider's state, without its clock (a back-off counts only as on or off)."""
    provider_changes: int = 0
    """How many times the providers' workers were created, joined, failed or removed so far:
    a change and its undoing (a failure, then its back-off over) between two looks count."""


def snapshot(
    workers: Sequence[WorkerState],
    providers: Sequence[ProviderState],
    stale_after: float,
    provider_changes: int = 0,
) -> Snapshot:
    return Snapshot(
        {w.id: w for w in workers},
        frozenset(w.id for w in workers if w.heartbeat_age > stale_after),
        tuple((p.name, _offer(p.offer)) for p in providers),
        tuple(
            (p.name, _offer(p.offer), p.min, p.max, p.provisioning, p.connected, p.retry_in > 0)
            for p in providers
        ),
        provider_changes,
    )


def _roomier(then: WorkerState, now: WorkerState) -> bool:
    """Whether ``now`` could take something ``then`` could not: capacity freed, or back at work."""
    return (
        now.slots_used < then.slots_used
        or now.cpu_used < then.cpu_used - EPSILON
        or now.memory_used < then.memory_used
        or (then.draining and not now.draining)
    )


def may_fit_now(outcome: Outcome, then: Snapshot, now: Snapshot) -> bool:
    """Whether a class that got ``outcome`` (anything but PLACED) at ``then`` might fit at
    ``now``, so that it must be looked at again.

    UNPLACEABLE means no worker or provider could ever take it as asked: only a worker of a new
    shape (labels, slots, totals) or a change of providers' offers may. Otherwise (WAITING, PROVISION)
    any room made counts: a new or changed worker, capacity freed, a drain ended, a heartbeat
    back, or any change of a provider. Capacity taken or a worker gone never helps.
    """
    if outcome is Outcome.UNPLACEABLE:
        if now.offers != then.offers:
            return True
        return any(
            (before := then.workers.get(w.id)) is None or _shape(before) != _shape(w)
            for w in now.workers.values()
        )
    if now.providers != then.providers or now.provider_changes != then.provider_changes:
        return True
    for w in now.workers.values():
        before = then.workers.get(w.id)
        if before is None or _shape(before) != _shape(w) or _roomier(before, w):
            return True
        if w.id in then.stale and w.id not in now.stale:
            return True
    return False
