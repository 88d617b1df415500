"""Autoscaling arithmetic, pure: a provider's verdict on a job, how many workers to create
for the demand placement reports (the over-provisioning guard), how many idle ones to stop,
and how long to back off after failures."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from hodeid.domain.placement import EPSILON, JobNeeds, Reason, Verdict


@dataclass(frozen=True)
class Offer:
    """What each worker a provider creates offers."""

    labels: Mapping[str, str] = field(default_factory=dict)
    slots: int = 1
    cpu: float = 1.0
    memory_mb: int = 1024


@dataclass(frozen=True)
class ProviderState:
    """A provider as the scheduler sees it at one moment."""

    name: str
    offer: Offer
    min: int = 0
    max: int = 1
    provisioning: int = 0
    """Workers created that have not connected yet."""
    connected: int = 0
    """Workers created that are connected now (idle ones included)."""
    last_error: str = ""
    retry_in: float = 0.0
    """Seconds left of the back-off after failures; 0 when the provider may create now."""

    @property
    def total(self) -> int:
        return self.provisioning + self.connected


def cannot_provide(job: JobNeeds, offer: Offer) -> str | None:
    """Why no worker ``offer`` describes could ever take ``job``, or None when one could."""
    for term in job.selector:
        if (why := term.mismatch(offer.labels)) is not None:
            have = why.split(": worker has ", 1)[-1]
            return f"cannot provide {term.text}: its workers have {have}"
    if job.cpu > offer.cpu + EPSILON:
        return f"cannot provide cpu {job.cpu:g}: its workers have {offer.cpu:g}"
    if job.memory_mb > offer.memory_mb:
        return f"cannot provide {job.memory_mb} MB: its workers have {offer.memory_mb} MB"
    return None


def _labels(labels: Mapping[str, str]) -> str:
    return "{" + ", ".join(f"{k}={v}" for k, v in sorted(labels.items())) + "}"


def verdict(job: JobNeeds, p: ProviderState) -> Verdict:
    """The provider's answer to "can you make a worker for this job?"."""
    if (why := cannot_provide(job, p.offer)) is not None:
        return Verdict(p.name, "provider", Reason.PROVIDER_CANNOT_FIT, why, False)
    if p.retry_in > 0:
        message = f"failing: {p.last_error}; next try in {p.retry_in:.0f} s"
        return Verdict(p.name, "provider", Reason.PROVIDER_FAILING, message)
    if p.total < p.max:
        return Verdict(
            p.name, "provider", Reason.FITS, f"would create worker with labels {_labels(p.offer.labels)}"
        )
    if p.provisioning:
        # At max, but a worker it is starting will take the job: still a provisioning wait.
        return Verdict(
            p.name, "provider", Reason.FITS, f"at max {p.max}; {p.provisioning} worker(s) starting"
        )
    return Verdict(p.name, "provider", Reason.PROVIDER_AT_MAX, f"at max {p.max}")


def workers_to_create(demand: int, p: ProviderState) -> int:
    """How many workers to create for ``demand`` jobs waiting on this provider.

    The slots of workers already provisioning count against the demand, so a queue seen
    again on every tick does not start a worker per job per tick; the total never passes
    ``max``, and never stays below ``min``. Nothing is created while backing off.
    """
    if p.retry_in > 0:
        return 0
    slots = max(1, p.offer.slots)
    uncovered = max(0, demand - p.provisioning * slots)
    wanted = max(-(-uncovered // slots), p.min - p.total)
    return max(0, min(wanted, p.max - p.total))


def idle_to_stop(idle_for: Sequence[float], p: ProviderState, idle_timeout: float) -> int:
    """How many of the connected idle workers (idle for ``idle_for`` seconds each) to stop:
    those idle past the timeout, as long as ``min`` workers remain."""
    expired = sum(1 for seconds in idle_for if seconds >= idle_timeout)
    return max(0, min(expired, p.total - p.min))


def retry_delay(failures: int, base: float = 1.0, cap: float = 60.0) -> float:
    """Seconds to wait after ``failures`` failures in a row: base, doubling, capped."""
    if failures <= 0:
        return 0.0
    return float(min(cap, base * 2 ** min(failures - 1, 30)))
