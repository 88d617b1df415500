"""When a schedule's runs are planned, and what to do when one is due. Pure: the times come in
as arguments (the database's clock), nothing is read or waited for here.

A cron expression has five fields (minute hour day-of-month month day-of-week) with the
standard meaning, parsed by croniter, and is read in the schedule's time zone. It is matched
against the wall clock, each wall-clock time at most once:

- a time the clock skips when daylight saving starts (02:30 when 02:00 jumps to 03:00) runs
  once, shifted by the jump (at 03:30), unless a run is planned at that instant anyway;
- a time the clock shows twice when daylight saving ends (02:30 when 03:00 falls back to
  02:00) runs once, at its first occurrence.

An interval (``every``) counts real seconds from the schedule's creation, untouched by
daylight saving.
"""

from __future__ import annotations

import enum
import math
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from croniter import croniter

from hodei_api.durations import interval_text
from hodeid.errors import InvalidRequest

MIN_EVERY_SECONDS = 1.0
# A run more than this late counts as missed: with catch-up NONE it is not fired.
LATE_GRACE = timedelta(seconds=10)
# Wall-clock candidates a cron expression may produce that fall before the instant asked for
# (the repeated hour of a fall-back day holds at most 60 of a per-minute expression).
_MAX_SKIPPED = 200
CRON_HINT = (
    "write five fields: minute hour day-of-month month day-of-week, e.g. '*/5 * * * *' "
    "(every 5 minutes) or '30 2 * * 1-5' (02:30 on weekdays)"
)


class Overlap(enum.Enum):
    """What a due run does while the job of the previous run has not ended."""

    SKIP = "SKIP"
    ALLOW = "ALLOW"
    CANCEL_PREVIOUS = "CANCEL_PREVIOUS"


class CatchUp(enum.Enum):
    """What a daemon that was down at planned times fires for them."""

    ONE = "ONE"
    NONE = "NONE"


@dataclass(frozen=True)
class Timetable:
    """A cron expression in a time zone, or an interval in seconds from ``anchor``."""

    cron: str = ""
    timezone: str = ""
    every_seconds: float = 0.0
    anchor: datetime | None = None

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone or "UTC")

    def describe(self) -> str:
        """The expression as a person wrote it: ``cron 0 3 * * * (Europe/Madrid)``, ``every 2s``."""
        if self.cron:
            return f"cron {self.cron}" + (f" ({self.timezone})" if self.timezone else "")
        return f"every {interval_text(self.every_seconds)}"


def timetable(cron: str, timezone: str, every_seconds: float, anchor: datetime) -> Timetable:
    """A checked timetable, or InvalidRequest saying what to write instead."""
    cron = " ".join(cron.split())
    if cron and every_seconds:
        raise InvalidRequest("give either a cron expression or an interval (every), not both")
    if not cron and not every_seconds:
        raise InvalidRequest(f"a schedule needs a cron expression or an interval: {CRON_HINT}, or every 10m")
    if every_seconds:
        if math.isnan(every_seconds) or math.isinf(every_seconds) or every_seconds < MIN_EVERY_SECONDS:
            raise InvalidRequest(
                f"the interval must be at least {MIN_EVERY_SECONDS:g} second, got {every_seconds:g} s; "
                "write a positive duration such as 30s, 5m or 1h"
            )
        if timezone:
            raise InvalidRequest("a time zone applies to a cron expression only; drop it for an interval")
        return Timetable(every_seconds=every_seconds, anchor=anchor)
    fields = cron.split(" ")
    if len(fields) != 5 or cron.startswith("@") or not croniter.is_valid(cron):
        raise InvalidRequest(f"cron expression {cron!r} is not valid: {CRON_HINT}")
    try:
        zoneinfo.ZoneInfo(timezone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidRequest(
            f"unknown time zone {timezone!r}: write an IANA name such as Europe/Madrid, "
            "America/New_York or UTC"
        ) from exc
    return Timetable(cron=cron, timezone=timezone, anchor=anchor)


def next_run(table: Timetable, after: datetime) -> datetime:
    """The first planned time strictly after ``after`` (aware), in UTC."""
    if table.every_seconds:
        assert table.anchor is not None
        step = timedelta(seconds=table.every_seconds)
        if after < table.anchor:
            return table.anchor.astimezone(UTC)
        done = (after - table.anchor) // step
        return (table.anchor + (done + 1) * step).astimezone(UTC)
    zone = table.zone
    wall = after.astimezone(zone).replace(tzinfo=None)
    # Back over the hour that a fall-back day repeats, so that a wall time in it is not missed
    # by starting past it; candidates not after ``after`` are skipped below.
    times = croniter(table.cron, wall - timedelta(hours=1))
    for _ in range(_MAX_SKIPPED):
        candidate = times.get_next(datetime)
        moment = candidate.replace(tzinfo=zone, fold=0).astimezone(UTC)
        if moment > after:
            return moment
    raise AssertionError(f"no run of {table.cron!r} after {after.isoformat()}")


class Action(enum.Enum):
    """What a due schedule does now."""

    FIRE = "fire"
    FIRE_AFTER_CANCEL = "fire after cancelling the previous run"
    SKIP_OVERLAP = "skip: the previous run has not ended"
    SKIP_MISSED = "skip: missed while no daemon could fire it"


@dataclass(frozen=True)
class Due:
    """A due schedule's decision: fire the run planned for ``planned`` (or skip it), and plan
    the next one for ``next_run``."""

    action: Action
    planned: datetime
    next_run: datetime


def decide(
    table: Timetable,
    planned: datetime,
    now: datetime,
    overlap: Overlap,
    catch_up: CatchUp,
    previous_running: bool,
) -> Due:
    """What a schedule whose run was planned for ``planned`` (at or before ``now``) does:
    however many planned times it missed, it fires at most one run, and plans the next after
    ``now``. ``previous_running``: the job of its previous run has not ended."""
    following = next_run(table, now)
    if catch_up is CatchUp.NONE and now - planned > LATE_GRACE:
        return Due(Action.SKIP_MISSED, planned, following)
    if previous_running and overlap is Overlap.SKIP:
        return Due(Action.SKIP_OVERLAP, planned, following)
    if previous_running and overlap is Overlap.CANCEL_PREVIOUS:
        return Due(Action.FIRE_AFTER_CANCEL, planned, following)
    return Due(Action.FIRE, planned, following)
