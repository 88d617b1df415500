"""How the console words and colours what it shows.

Everything built from data (names, ids, labels, the daemon's messages) is a ``Text`` made by
``plain``: Textual reads a ``str`` as markup, so a job named ``[/]`` would stop the console,
and a control character would reach the terminal."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text

from hodei_api import v1
from hodei_api.printable import printable

STATE_STYLES = {
    v1.JobState.PENDING: "bold #e5c07b",
    v1.JobState.ASSIGNED: "bold #61afef",
    v1.JobState.RUNNING: "bold #56b6c2",
    v1.JobState.SUCCEEDED: "bold #98c379",
    v1.JobState.FAILED: "bold #e06c75",
    v1.JobState.CANCELLED: "#abb2bf",
    v1.JobState.TIMED_OUT: "bold #d19a66",
}
OUTCOME_STYLES = {
    v1.PlacementOutcome.PLACED: "bold #98c379",
    v1.PlacementOutcome.PROVISION: "bold #61afef",
    v1.PlacementOutcome.WAITING: "bold #e5c07b",
    v1.PlacementOutcome.UNPLACEABLE: "bold #e06c75",
}
FINISHED = frozenset(
    {v1.JobState.SUCCEEDED, v1.JobState.FAILED, v1.JobState.CANCELLED, v1.JobState.TIMED_OUT}
)


def plain(text: str, style: str = "") -> Text:
    """``text`` as data: never markup, its control characters shown as escapes."""
    return Text(printable(text), style=style)


def short_id(long_id: str) -> str:
    """The first 8 characters of a job's or a daemon's id: unique enough to recognise, short
    enough to fit."""
    return long_id[:8]


def state_text(state: v1.JobState) -> Text:
    return Text(state.name, style=STATE_STYLES.get(state, ""))


def seconds(value: float) -> str:
    """A duration in the largest unit that keeps it short: 4s, 3m, 2h, 5d."""
    value = max(0.0, value)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if value >= size:
            return f"{int(value // size)}{unit}"
    return f"{value:.0f}s" if value >= 10 else f"{value:.1f}s"


def age(since: datetime | None, now: datetime) -> str:
    return "-" if since is None else seconds((now - since).total_seconds())


def job_name(job: v1.Job) -> str:
    spec = job.spec or v1.JobSpec()
    return spec.name or " ".join(spec.command)


def exit_text(job: v1.Job) -> str:
    if job.signal is not None:
        return f"sig {job.signal}"
    return "-" if job.exit_code is None else str(job.exit_code)
