"""Placement: ``place(job, workers, providers, policy) -> Decision``, a pure function whose
decision carries one verdict per worker and per provider, each with a stable reason code
and a sentence with the numbers."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from hodeid.domain.selectors import Term


class Outcome(StrEnum):
    PLACED = "PLACED"
    PROVISION = "PROVISION"
    WAITING = "WAITING"
    UNPLACEABLE = "UNPLACEABLE"


# Resource sums are floats: 0.6 - 0.2 is 0.39999999999999997, and 0.4 must still fit in it.
EPSILON = 1e-9


class Reason(StrEnum):
    FITS = "FITS"
    STREAM_DOWN = "STREAM_DOWN"
    HEARTBEAT_STALE = "HEARTBEAT_STALE"
    DRAINING = "DRAINING"
    SELECTOR_MISMATCH = "SELECTOR_MISMATCH"
    CPU_EXHAUSTED = "CPU_EXHAUSTED"
    MEMORY_EXHAUSTED = "MEMORY_EXHAUSTED"
    NO_FREE_SLOT = "NO_FREE_SLOT"
    NO_PROVIDER = "NO_PROVIDER"


class Strategy(StrEnum):
    FIRST_AVAILABLE = "first-available"
    LEAST_LOADED = "least-loaded"
    MOST_CAPACITY = "most-capacity"
    BIN_PACK = "bin-pack"


@dataclass(frozen=True)
class JobNeeds:
    job_id: str
    selector: tuple[Term, ...] = ()
    cpu: float = 0.0
    memory_mb: int = 0


@dataclass(frozen=True)
class WorkerState:
    """What the scheduler knows of one worker, from the live session registry."""

    id: str
    slots_total: int
    slots_used: int = 0
    cpu_total: float = 0.0
    cpu_used: float = 0.0
    memory_total: int = 0
    memory_used: int = 0
    labels: Mapping[str, str] = field(default_factory=dict)
    live: bool = True
    draining: bool = False
    heartbeat_age: float = 0.0

    def with_job(self, job: JobNeeds) -> WorkerState:
        """This worker once ``job`` is placed on it."""
        return WorkerState(
            self.id,
            self.slots_total,
            self.slots_used + 1,
            self.cpu_total,
            self.cpu_used + job.cpu,
            self.memory_total,
            self.memory_used + job.memory_mb,
            self.labels,
            self.live,
            self.draining,
            self.heartbeat_age,
        )


@dataclass(frozen=True)
class Policy:
    strategy: Strategy = Strategy.LEAST_LOADED
    heartbeat_stale_after: float = 15.0


@dataclass(frozen=True)
class Verdict:
    target: str
    kind: str  # "worker" or "provider"
    reason: Reason
    message: str
    # False when the worker could not take the job even if it were idle.
    could_fit: bool = True
    score: float | None = None


@dataclass(frozen=True)
class Decision:
    job_id: str
    outcome: Outcome
    strategy: Strategy
    verdicts: tuple[Verdict, ...]
    worker_id: str | None = None

    @property
    def histogram(self) -> dict[str, int]:
        return dict(Counter(v.reason.value for v in self.verdicts if v.reason is not Reason.FITS))

    def summary(self) -> str:
        """One line a person can read, e.g. for a job that waits."""
        if self.worker_id:
            return f"placed on {self.worker_id} ({self.strategy})"
        parts = ", ".join(f"{n} {r}" for r, n in sorted(self.histogram.items()))
        return f"{self.outcome}: {parts}"


def _check(job: JobNeeds, w: WorkerState, policy: Policy) -> Verdict:
    def no(reason: Reason, message: str, could_fit: bool = True) -> Verdict:
        return Verdict(w.id, "worker", reason, message, could_fit)

    if not w.live:
        return no(Reason.STREAM_DOWN, "stream is down")
    if w.heartbeat_age > policy.heartbeat_stale_after:
        return no(Reason.HEARTBEAT_STALE, f"no heartbeat for {w.heartbeat_age:.0f} s")
    for term in job.selector:
        if (why := term.mismatch(w.labels)) is not None:
            return no(Reason.SELECTOR_MISMATCH, why, could_fit=False)
    if job.cpu > w.cpu_total + EPSILON:
        return no(Reason.CPU_EXHAUSTED, f"cpu: needs {job.cpu:g}, has {w.cpu_total:g} in all", False)
    if job.memory_mb > w.memory_total:
        message = f"memory: needs {job.memory_mb} MB, has {w.memory_total} MB in all"
        return no(Reason.MEMORY_EXHAUSTED, message, could_fit=False)
    if w.draining:
        return no(Reason.DRAINING, "draining: takes no new jobs")
    if w.slots_used >= w.slots_total:
        return no(Reason.NO_FREE_SLOT, f"slots: {w.slots_used} of {w.slots_total} in use")
    cpu_free = w.cpu_total - w.cpu_used
    if job.cpu > cpu_free + EPSILON:
        return no(Reason.CPU_EXHAUSTED, f"cpu: needs {job.cpu:g}, {cpu_free:g} free")
    memory_free = w.memory_total - w.memory_used
    if job.memory_mb > memory_free:
        return no(Reason.MEMORY_EXHAUSTED, f"memory: needs {job.memory_mb} MB, {memory_free} MB free")
    return Verdict(w.id, "worker", Reason.FITS, f"fits: {w.slots_total - w.slots_used} slot(s) free")


def _score(w: WorkerState, strategy: Strategy, index: int) -> float:
    if strategy is Strategy.FIRST_AVAILABLE:
        return -float(index)
    if strategy is Strategy.MOST_CAPACITY:
        return (w.cpu_total - w.cpu_used) + (w.slots_total - w.slots_used)
    load = w.slots_used / w.slots_total if w.slots_total else 1.0
    return load if strategy is Strategy.BIN_PACK else 1.0 - load


def place(
    job: JobNeeds,
    workers: Sequence[WorkerState],
    providers: Sequence[Verdict],
    policy: Policy,
) -> Decision:
    """Choose a worker for ``job``, or say why none can take it now (or ever).

    ``providers`` are the verdicts of the configured providers on this job; with none
    configured the trace says so, so an empty list is never silent.
    """
    verdicts: list[Verdict] = []
    best: tuple[float, str] | None = None
    for index, worker in enumerate(workers):
        verdict = _check(job, worker, policy)
        if verdict.reason is Reason.FITS:
            score = _score(worker, policy.strategy, index)
            verdict = Verdict(worker.id, "worker", Reason.FITS, verdict.message, True, score)
            if best is None or score > best[0]:
                best = (score, worker.id)
        verdicts.append(verdict)
    provider_verdicts = list(providers) or [
        Verdict("-", "provider", Reason.NO_PROVIDER, "no provider is configured", False)
    ]
    verdicts.extend(provider_verdicts)
    if best is not None:
        return Decision(job.job_id, Outcome.PLACED, policy.strategy, tuple(verdicts), best[1])
    if any(v.reason is Reason.FITS for v in provider_verdicts):
        return Decision(job.job_id, Outcome.PROVISION, policy.strategy, tuple(verdicts))
    waiting = any(v.could_fit for v in verdicts if v.kind == "worker")
    outcome = Outcome.WAITING if waiting else Outcome.UNPLACEABLE
    return Decision(job.job_id, outcome, policy.strategy, tuple(verdicts))


def place_batch(
    jobs: Sequence[JobNeeds],
    workers: Sequence[WorkerState],
    providers: Sequence[Verdict],
    policy: Policy,
) -> list[Decision]:
    """Place jobs in order (priority order), each seeing the capacity the earlier ones took.

    A job that fits nowhere does not stop later jobs from being placed.
    """
    current = {w.id: w for w in workers}
    decisions = []
    for job in jobs:
        decision = place(job, list(current.values()), providers, policy)
        if decision.worker_id is not None:
            current[decision.worker_id] = current[decision.worker_id].with_job(job)
        decisions.append(decision)
    return decisions
