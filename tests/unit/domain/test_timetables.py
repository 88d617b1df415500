"""next_run() and decide(): when a schedule's runs are planned, daylight-saving changes
included, and what a due schedule does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from hodei_api.durations import interval_text
from hodeid.domain.timetables import (
    Action,
    CatchUp,
    Overlap,
    decide,
    next_run,
    timetable,
)
from hodeid.errors import InvalidRequest

ANCHOR = datetime(2026, 1, 1, tzinfo=UTC)


def at(text: str) -> datetime:
    """An aware moment from ISO text with its offset."""
    return datetime.fromisoformat(text)


# name, cron, time zone, after, the next run (ISO with the local offset)
CRON = [
    ("every-minute", "* * * * *", "", "2026-05-04T10:00:00+00:00", "2026-05-04T10:01:00+00:00"),
    ("strictly-after", "0 3 * * *", "", "2026-05-04T03:00:00+00:00", "2026-05-05T03:00:00+00:00"),
    ("seconds-round-up", "*/5 * * * *", "", "2026-05-04T10:04:59.5+00:00", "2026-05-04T10:05:00+00:00"),
    ("weekdays", "30 2 * * 1-5", "", "2026-05-08T03:00:00+00:00", "2026-05-11T02:30:00+00:00"),
    ("month-end-rolls", "0 0 1 * *", "", "2026-12-15T00:00:00+00:00", "2027-01-01T00:00:00+00:00"),
    ("leap-day", "0 12 29 2 *", "", "2026-03-01T00:00:00+00:00", "2028-02-29T12:00:00+00:00"),
    # Day of month and day of week both restricted: either matches (standard cron).
    ("dom-or-dow", "0 0 13 * 5", "", "2026-02-01T00:00:00+00:00", "2026-02-06T00:00:00+00:00"),
    ("in-a-zone", "0 3 * * *", "Europe/Madrid", "2026-05-04T12:00:00+02:00", "2026-05-05T03:00:00+02:00"),
    (
        "zone-behind-utc",
        "0 9 * * *",
        "America/New_York",
        "2026-05-04T12:00:00+00:00",
        "2026-05-04T09:00:00-04:00",
    ),
    # Spring forward in Madrid (2026-03-29, 02:00 CET -> 03:00 CEST): 02:30 does not exist; it
    # runs once, shifted by the jump.
    (
        "spring-skipped-time",
        "30 2 * * *",
        "Europe/Madrid",
        "2026-03-29T01:00:00+01:00",
        "2026-03-29T03:30:00+02:00",
    ),
    (
        "spring-next-day-normal",
        "30 2 * * *",
        "Europe/Madrid",
        "2026-03-29T03:30:00+02:00",
        "2026-03-30T02:30:00+02:00",
    ),
    (
        "spring-time-after-gap",
        "0 3 * * *",
        "Europe/Madrid",
        "2026-03-29T01:59:00+01:00",
        "2026-03-29T03:00:00+02:00",
    ),
    (
        "spring-hourly-no-double",
        "30 * * * *",
        "Europe/Madrid",
        "2026-03-29T01:30:00+01:00",
        "2026-03-29T03:30:00+02:00",
    ),
    (
        "spring-hourly-after",
        "30 * * * *",
        "Europe/Madrid",
        "2026-03-29T03:30:00+02:00",
        "2026-03-29T04:30:00+02:00",
    ),
    (
        "spring-new-york",
        "30 2 * * *",
        "America/New_York",
        "2026-03-08T00:00:00-05:00",
        "2026-03-08T03:30:00-04:00",
    ),
    # Fall back in Madrid (2026-10-25, 03:00 CEST -> 02:00 CET): 02:30 happens twice; it runs
    # once, the first time.
    (
        "fall-first-occurrence",
        "30 2 * * *",
        "Europe/Madrid",
        "2026-10-25T01:00:00+02:00",
        "2026-10-25T02:30:00+02:00",
    ),
    (
        "fall-not-again",
        "30 2 * * *",
        "Europe/Madrid",
        "2026-10-25T02:30:00+02:00",
        "2026-10-26T02:30:00+01:00",
    ),
    (
        "fall-from-second-pass",
        "30 2 * * *",
        "Europe/Madrid",
        "2026-10-25T02:10:00+01:00",
        "2026-10-26T02:30:00+01:00",
    ),
    ("fall-hourly", "30 * * * *", "Europe/Madrid", "2026-10-25T02:30:00+02:00", "2026-10-25T03:30:00+01:00"),
    (
        "fall-time-after",
        "0 3 * * *",
        "Europe/Madrid",
        "2026-10-25T02:45:00+01:00",
        "2026-10-25T03:00:00+01:00",
    ),
    (
        "fall-new-york",
        "30 1 * * *",
        "America/New_York",
        "2026-11-01T00:00:00-04:00",
        "2026-11-01T01:30:00-04:00",
    ),
    (
        "fall-new-york-next",
        "30 1 * * *",
        "America/New_York",
        "2026-11-01T01:30:00-04:00",
        "2026-11-02T01:30:00-05:00",
    ),
]


@pytest.mark.parametrize(
    ("cron", "zone", "after", "expected"), [c[1:] for c in CRON], ids=[c[0] for c in CRON]
)
def test_next_cron_run(cron: str, zone: str, after: str, expected: str) -> None:
    found = next_run(timetable(cron, zone, 0.0, ANCHOR), at(after))
    assert found == at(expected)
    assert found.tzinfo is UTC
    local = found.astimezone(ZoneInfo(zone or "UTC"))
    assert local.isoformat() == at(expected).isoformat()


def test_a_cron_schedule_walks_a_fall_back_day_once_per_wall_time() -> None:
    table = timetable("0,30 * * * *", "Europe/Madrid", 0.0, ANCHOR)
    moment, seen = at("2026-10-25T01:00:00+02:00"), []
    while moment < at("2026-10-25T04:00:00+01:00"):
        moment = next_run(table, moment)
        seen.append(moment.astimezone(ZoneInfo("Europe/Madrid")).strftime("%H:%M%z"))
    assert seen == ["01:30+0200", "02:00+0200", "02:30+0200", "03:00+0100", "03:30+0100", "04:00+0100"]


# every seconds, anchor offset (s), after offset (s), next offset (s)
EVERY = [
    ("before-anchor", 60.0, -5.0, 0.0),
    ("at-anchor", 60.0, 0.0, 60.0),
    ("mid-interval", 60.0, 61.0, 120.0),
    ("on-a-planned-time", 2.0, 10.0, 12.0),
    ("fraction", 1.5, 2.0, 3.0),
    ("long-downtime", 2.0, 86401.0, 86402.0),
]


@pytest.mark.parametrize(("every", "after", "expected"), [e[1:] for e in EVERY], ids=[e[0] for e in EVERY])
def test_next_interval_run(every: float, after: float, expected: float) -> None:
    table = timetable("", "", every, ANCHOR)
    assert next_run(table, ANCHOR + timedelta(seconds=after)) == ANCHOR + timedelta(seconds=expected)


def test_intervals_ignore_daylight_saving() -> None:
    anchor = at("2026-10-25T01:30:00+02:00")
    table = timetable("", "", 3600.0, anchor)
    assert next_run(table, anchor) - anchor == timedelta(hours=1)
    assert next_run(table, anchor + timedelta(hours=1)) - anchor == timedelta(hours=2)


BAD = [
    ("four-fields", "* * * *", "", 0.0, "is not valid: write five fields"),
    ("six-fields", "0 * * * * *", "", 0.0, "is not valid: write five fields"),
    ("minute-60", "60 * * * *", "", 0.0, "is not valid"),
    ("hour-24", "0 24 * * *", "", 0.0, "is not valid"),
    ("words", "every day", "", 0.0, "is not valid"),
    ("macro", "@daily", "", 0.0, "is not valid"),
    ("unknown-zone", "0 3 * * *", "Mars/Olympus", 0.0, "unknown time zone 'Mars/Olympus'"),
    ("path-zone", "0 3 * * *", "../etc/passwd", 0.0, "IANA name"),
    ("neither", "", "", 0.0, "needs a cron expression or an interval"),
    ("both", "0 3 * * *", "", 60.0, "not both"),
    ("zero", "", "", 0.0, "needs a cron expression or an interval"),
    ("negative", "", "", -1.0, "at least 1 second"),
    ("too-short", "", "", 0.5, "at least 1 second"),
    ("nan", "", "", float("nan"), "at least 1 second"),
    ("zone-with-interval", "", "UTC", 60.0, "cron expression only"),
]


@pytest.mark.parametrize(("cron", "zone", "every", "words"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_timetables_are_refused_saying_what_to_write(
    cron: str, zone: str, every: float, words: str
) -> None:
    with pytest.raises(InvalidRequest) as refused:
        timetable(cron, zone, every, ANCHOR)
    assert words in refused.value.message


PLANNED = at("2026-05-04T10:00:00+00:00")

# planned -> now offset (s), overlap, catch-up, previous running -> action, next run offset (s)
DECISIONS = [
    ("on-time", 0.05, Overlap.SKIP, CatchUp.ONE, False, Action.FIRE, 60.0),
    ("overlap-skip", 0.05, Overlap.SKIP, CatchUp.ONE, True, Action.SKIP_OVERLAP, 60.0),
    ("overlap-allow", 0.05, Overlap.ALLOW, CatchUp.ONE, True, Action.FIRE, 60.0),
    ("overlap-cancel", 0.05, Overlap.CANCEL_PREVIOUS, CatchUp.ONE, True, Action.FIRE_AFTER_CANCEL, 60.0),
    ("cancel-nothing-running", 0.05, Overlap.CANCEL_PREVIOUS, CatchUp.ONE, False, Action.FIRE, 60.0),
    # Down for an hour: 60 runs missed; one fires, the next is planned after now.
    ("catch-up-one", 3600.0, Overlap.SKIP, CatchUp.ONE, False, Action.FIRE, 3660.0),
    ("catch-up-none", 3600.0, Overlap.SKIP, CatchUp.NONE, False, Action.SKIP_MISSED, 3660.0),
    ("none-but-just-late", 5.0, Overlap.SKIP, CatchUp.NONE, False, Action.FIRE, 60.0),
]


@pytest.mark.parametrize(
    ("late", "overlap", "catch_up", "running", "action", "following"),
    [d[1:] for d in DECISIONS],
    ids=[d[0] for d in DECISIONS],
)
def test_decide(
    late: float, overlap: Overlap, catch_up: CatchUp, running: bool, action: Action, following: float
) -> None:
    table = timetable("* * * * *", "", 0.0, ANCHOR)
    due = decide(table, PLANNED, PLANNED + timedelta(seconds=late), overlap, catch_up, running)
    assert (due.action, due.planned, due.next_run) == (
        action,
        PLANNED,
        PLANNED + timedelta(seconds=following),
    )


@pytest.mark.parametrize(
    ("seconds", "text"), [(2.0, "2s"), (1.5, "1.5s"), (300.0, "5m"), (5400.0, "1h30m"), (86400.0, "1d")]
)
def test_intervals_are_described_as_written(seconds: float, text: str) -> None:
    assert interval_text(seconds) == text
