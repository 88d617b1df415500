"""Job dependencies: a job runs after others (``JobSpec.after``: they must all succeed;
``after_any``: they must all have ended). Pure rules: what a job asks for, how it starts given
its dependencies' states at submit, and the decision that explains a job still waiting.

The same rule is applied in the database when a dependency settles (the trigger
``settle_dependents`` in schema.sql), with the same words: keep the two together."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from hodei_api.gen.hodei.v1 import JobState
from hodeid.domain.placement import Decision, Outcome, Reason, Strategy, Verdict
from hodeid.domain.states import TERMINAL


class Kind(StrEnum):
    """Stored under these names (the ``dependency_kind`` enum)."""

    AFTER_OK = "AFTER_OK"
    AFTER_ANY = "AFTER_ANY"


@dataclass(frozen=True)
class Dependency:
    job_id: str
    kind: Kind


def requested(after: Sequence[str], after_any: Sequence[str]) -> tuple[Dependency, ...]:
    """The dependencies a spec asks for, each job once, in the order first named. A job named
    in both lists must succeed: ``after`` asks more than ``after_any``, and both are kept."""
    kinds: dict[str, Kind] = {}
    for job_id in after_any:
        kinds.setdefault(job_id, Kind.AFTER_ANY)
    for job_id in after:
        kinds[job_id] = Kind.AFTER_OK
    order = list(dict.fromkeys([*after, *after_any]))
    return tuple(Dependency(job_id, kinds[job_id]) for job_id in order)


def breaks(kind: Kind, state: JobState) -> bool:
    """Whether a dependency that ended in ``state`` means the job can never run."""
    return kind is Kind.AFTER_OK and state in TERMINAL and state is not JobState.SUCCEEDED


def ended_reason(job_id: str, state: JobState) -> str:
    """Why a job was cancelled: its dependency ``job_id`` ended ``state``. schema.sql's
    ``settle_dependents`` writes the same words."""
    return f"dependency {job_id} ended {state.name}; --after needs it SUCCEEDED"


@dataclass(frozen=True)
class Start:
    """How a newly submitted job starts, given its dependencies' states."""

    state: JobState
    """PENDING, or CANCELLED when an ``after`` dependency already ended otherwise than SUCCEEDED."""
    reason: str
    settled: Mapping[str, JobState]
    """The dependencies that already ended, by id: they count at once."""
    waiting_on: int
    """How many have not ended yet: the job is not placed until this is 0."""


def at_submit(dependencies: Sequence[Dependency], states: Mapping[str, JobState]) -> Start:
    """The start of a job with ``dependencies``, whose jobs are in ``states`` now (each must be
    there). A dependency that already ended counts at once; one that broke cancels the job."""
    settled = {d.job_id: states[d.job_id] for d in dependencies if states[d.job_id] in TERMINAL}
    broken = sorted(d.job_id for d in dependencies if breaks(d.kind, states[d.job_id]))
    waiting_on = len(dependencies) - len(settled)
    if broken:
        reason = "; ".join(ended_reason(job_id, states[job_id]) for job_id in broken)
        return Start(JobState.CANCELLED, reason, settled, waiting_on)
    return Start(JobState.PENDING, "", settled, waiting_on)


@dataclass(frozen=True)
class Unfinished:
    """A dependency of a waiting job that has not ended yet, as it is now."""

    job_id: str
    kind: Kind
    state: JobState
    name: str = ""


def _needs(kind: Kind) -> str:
    return "--after needs it SUCCEEDED" if kind is Kind.AFTER_OK else "--after-any needs it ended"


def waiting_decision(job_id: str, unfinished: Sequence[Unfinished], strategy: Strategy) -> Decision:
    """The decision of a job that waits for ``unfinished``: WAITING, with one verdict per
    dependency (target: its id; reason WAITING_ON_DEPENDENCY; message: its name, its state and
    what the job needs of it)."""
    verdicts = tuple(
        Verdict(
            u.job_id,
            "dependency",
            Reason.WAITING_ON_DEPENDENCY,
            f"{f'{u.name!r} ' if u.name else ''}is {u.state.name}; {_needs(u.kind)}",
        )
        for u in unfinished
    )
    return Decision(job_id, Outcome.WAITING, strategy, verdicts)
