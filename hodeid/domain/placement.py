"""Placement: ``place(job, workers, providers, policy) -> Decision``, a pure function whose
decision carries one verdict per worker and per provider, each with a stable reason code
(the contract's ``PlacementReason``) and a sentence with the numbers."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import NamedTuple

from hodei_api.gen.hodei.v1 import PlacementOutcome as Outcome
from hodei_api.gen.hodei.v1 import PlacementReason as Reason
from hodeid.domain.selectors import Term

__all__ = ["Decision", "JobNeeds", "Outcome", "Policy", "Reason", "Strategy", "Verdict", "WorkerState"]

# Resource sums are floats: 0.6 - 0.2 is 0.39999999999999997, and 0.4 must still fit in it.
EPSILON = 1e-9


class Strategy(StrEnum):
    FIRST_AVAILABLE = "first-available"
    LEAST_LOADED = "least-loaded"
    ROUND_ROBIN = "round-robin"
    MOST_CAPACITY = "most-capacity"
    BIN_PACK = "bin-pack"


@dataclass(frozen=True)
class JobNeeds:
    job_id: str
    selector: tuple[Term, ...] = ()
    cpu: float = 0.0
    memory_mb: int = 0


@dataclass(frozen=True, slots=True)
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
        return replace(
            self,
            slots_used=self.slots_used + 1,
            cpu_used=self.cpu_used + job.cpu,
            memory_used=self.memory_used + job.memory_mb,
        )


@dataclass(frozen=True)
class Policy:
    strategy: Strategy = Strategy.LEAST_LOADED
    heartbeat_stale_after: float = 15.0
    # Round-robin: where the rotation over the worker list starts.
    cursor: int = 0


class Verdict(NamedTuple):
    """One worker's or provider's answer. A tuple: a decision makes one per worker."""

    target: str
    kind: str  # "worker" or "provider"
    reason: Reason
    message: str
    # False when the target could not take the job even if it were idle.
    could_fit: bool = True
    score: float | None = None


@dataclass(frozen=True)
class Decision:
    job_id: str
    outcome: Outcome
    strategy: Strategy
    verdicts: tuple[Verdict, ...]
    worker_id: str | None = None
    duration_ms: float = 0.0

    @property
    def histogram(self) -> dict[str, int]:
        return dict(Counter(v.reason.name for v in self.verdicts if v.reason is not Reason.FITS))

    @property
    def counts(self) -> tuple[int, int, int, int]:
        """Workers (evaluated, eligible, filtered, exhausted), in Nomad's words: filtered ones
        could never take the job as asked, exhausted ones could once capacity frees up."""
        workers = [v for v in self.verdicts if v.kind == "worker"]
        eligible = sum(v.reason is Reason.FITS for v in workers)
        filtered = sum(not v.could_fit for v in workers)
        return len(workers), eligible, filtered, len(workers) - eligible - filtered

    @property
    def provisioner(self) -> Verdict | None:
        """When PROVISION, the verdict of the provider that makes the worker: the first, in
        configuration order, that said it would."""
        if self.outcome is not Outcome.PROVISION:
            return None
        return next(v for v in self.verdicts if v.kind == "provider" and v.reason is Reason.FITS)

    def summary(self) -> str:
        """One line a person can read, e.g. for a job that waits."""
        if self.worker_id:
            return f"placed on {self.worker_id} ({self.strategy})"
        if waits := [v for v in self.verdicts if v.kind == "dependency"]:
            named = ", and ".join(f"job {v.target} {v.message}" for v in waits)
            return f"{self.outcome.name}: {len(waits)} {Reason.WAITING_ON_DEPENDENCY.name}: {named}"
        parts = ", ".join(f"{n} {r}" for r, n in sorted(self.histogram.items()))
        if (chosen := self.provisioner) is not None:
            parts = "; ".join(filter(None, [f"provider {chosen.target}: {chosen.message}", parts]))
        if not any(v.kind == "worker" for v in self.verdicts):
            parts = f"no worker is connected; {parts}"
        return f"{self.outcome.name}: {parts}"


# The hot path of a large fleet makes one verdict per worker: build them as plain tuples
# (NamedTuple's constructor is several times slower) with the reasons looked up once.
_new = tuple.__new__
_STREAM_DOWN, _STALE, _MISMATCH = Reason.STREAM_DOWN, Reason.HEARTBEAT_STALE, Reason.SELECTOR_MISMATCH
_CPU, _MEMORY, _DRAINING, _NO_SLOT = (
    Reason.CPU_EXHAUSTED, Reason.MEMORY_EXHAUSTED, Reason.DRAINING, Reason.NO_FREE_SLOT,
)  # fmt: skip
_FITS = Reason.FITS


def _check(job: JobNeeds, w: WorkerState, stale_after: float) -> Verdict | None:
    """Why ``w`` cannot take ``job`` now, or None when it can."""
    if not w.live:
        return _new(Verdict, (w.id, "worker", _STREAM_DOWN, "stream is down", True, None))
    if w.heartbeat_age > stale_after:
        message = f"no heartbeat for {w.heartbeat_age:.0f} s"
        return _new(Verdict, (w.id, "worker", _STALE, message, True, None))
    for term in job.selector:
        if (why := term.mismatch(w.labels)) is not None:
            return _new(Verdict, (w.id, "worker", _MISMATCH, why, False, None))
    if job.cpu > w.cpu_total + EPSILON:
        message = f"cpu: needs {job.cpu:g}, has {w.cpu_total:g} in all"
        return _new(Verdict, (w.id, "worker", _CPU, message, False, None))
    if job.memory_mb > w.memory_total:
        message = f"memory: needs {job.memory_mb} MB, has {w.memory_total} MB in all"
        return _new(Verdict, (w.id, "worker", _MEMORY, message, False, None))
    if w.draining:
        return _new(Verdict, (w.id, "worker", _DRAINING, "draining: takes no new jobs", True, None))
    if w.slots_used >= w.slots_total:
        message = f"slots: {w.slots_used} of {w.slots_total} in use"
        return _new(Verdict, (w.id, "worker", _NO_SLOT, message, True, None))
    cpu_free = w.cpu_total - w.cpu_used
    if job.cpu > cpu_free + EPSILON:
        message = f"cpu: needs {job.cpu:g}, {cpu_free:g} free"
        return _new(Verdict, (w.id, "worker", _CPU, message, True, None))
    memory_free = w.memory_total - w.memory_used
    if job.memory_mb > memory_free:
        message = f"memory: needs {job.memory_mb} MB, {memory_free} MB free"
        return _new(Verdict, (w.id, "worker", _MEMORY, message, True, None))
    return None


def _score(w: WorkerState, policy: Policy, index: int, count: int) -> float:
    """Scores of the strategies that do not go by load (those are computed inline)."""
    strategy = policy.strategy
    if strategy is Strategy.FIRST_AVAILABLE:
        return -float(index)
    if strategy is Strategy.ROUND_ROBIN:
        return -float((index - policy.cursor) % count)
    return (w.cpu_total - w.cpu_used) + (w.slots_total - w.slots_used)


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
    count = len(workers)
    stale_after = policy.heartbeat_stale_after
    strategy = policy.strategy
    for index, worker in enumerate(workers):
        verdict = _check(job, worker, stale_after)
        if verdict is None:
            if strategy is Strategy.LEAST_LOADED or strategy is Strategy.BIN_PACK:
                load = worker.slots_used / worker.slots_total
                score = load if strategy is Strategy.BIN_PACK else 1.0 - load
            else:
                score = _score(worker, policy, index, count)
            message = f"fits: {worker.slots_total - worker.slots_used} slot(s) free"
            verdict = _new(Verdict, (worker.id, "worker", _FITS, message, True, score))
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
    waiting = any(v.could_fit for v in verdicts)
    outcome = Outcome.WAITING if waiting else Outcome.UNPLACEABLE
    return Decision(job.job_id, outcome, policy.strategy, tuple(verdicts))


def place_batch(
    jobs: Sequence[JobNeeds],
    workers: Sequence[WorkerState],
    providers: Sequence[Verdict] | Callable[[JobNeeds], Sequence[Verdict]],
    policy: Policy,
    clock: Callable[[], float] | None = None,
) -> list[Decision]:
    """Place jobs in order (priority order), each seeing the capacity the earlier ones took.

    A job that fits nowhere does not stop later jobs from being placed. Round-robin moves
    its cursor past each chosen worker. With ``clock`` (seconds), each decision records how
    long it took. ``providers`` are the providers' verdicts, or a function giving them for
    each job (a provider's answer depends on what the job asks for).
    """
    current = list(workers)
    index = {w.id: i for i, w in enumerate(current)}
    decisions = []
    for job in jobs:
        started = clock() if clock else 0.0
        verdicts = providers(job) if callable(providers) else providers
        decision = place(job, current, verdicts, policy)
        if clock:
            decision = replace(decision, duration_ms=(clock() - started) * 1000)
        if decision.worker_id is not None:
            at = index[decision.worker_id]
            current[at] = current[at].with_job(job)
            policy = replace(policy, cursor=at + 1)
        decisions.append(decision)
    return decisions
