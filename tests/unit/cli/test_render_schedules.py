"""How schedules, and the jobs of their runs, look in the CLI; durations as typed."""

from __future__ import annotations

import json
import time
from argparse import ArgumentTypeError
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from hodei_api import v1
from hodei_tui.cli.parser import parse_args
from hodei_tui.cli.render_jobs import job_text, job_to_dict
from hodei_tui.cli.render_schedules import expression, schedule_text, schedule_to_dict, schedules_table
from hodei_tui.cli.spec import build_schedule
from hodei_tui.cli.values import duration
from hodei_tui.errors import UsageError

NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
NEXT = datetime(2026, 12, 2, 2, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _in_madrid(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local time is Madrid's, whatever this machine's."""
    monkeypatch.setenv("TZ", "Europe/Madrid")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def _schedule(**fields: object) -> v1.Schedule:
    spec = v1.ScheduleSpec(
        name="backup",
        cron="30 3 * * *",
        timezone="Europe/Madrid",
        overlap=v1.OverlapPolicy.CANCEL_PREVIOUS,
        job=v1.JobSpec(name="backup", command=["backup", "--all"], env={"K": "v"}),
    )
    return v1.Schedule(spec=spec, created_at=NOW, next_run=NEXT, **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("spec", "text"),
    [
        (v1.ScheduleSpec(cron="*/5 * * * *"), "cron */5 * * * * UTC"),
        (v1.ScheduleSpec(cron="0 3 * * *", timezone="Asia/Tokyo"), "cron 0 3 * * * Asia/Tokyo"),
        (v1.ScheduleSpec(every_seconds=2.0), "every 2s"),
        (v1.ScheduleSpec(every_seconds=90.0), "every 1m30s"),
        (v1.ScheduleSpec(every_seconds=5400.0), "every 1h30m"),
        (v1.ScheduleSpec(every_seconds=86400.0), "every 1d"),
    ],
)
def test_expression(spec: v1.ScheduleSpec, text: str) -> None:
    assert expression(spec) == text


def test_schedules_table_shows_the_next_run_in_local_time() -> None:
    last = _schedule(last_job_id="job-1", last_job_state=v1.JobState.SUCCEEDED)
    paused = v1.Schedule(spec=v1.ScheduleSpec(name="held\x1b[2J", every_seconds=60.0), paused=True)
    lines = schedules_table([last, paused]).splitlines()
    assert lines[0].split() == ["NAME", "SCHEDULE", "NEXT", "RUN", "LAST", "JOB", "LAST", "STATE", "PAUSED"]
    assert lines[1].split() == [
        "backup", "cron", "30", "3", "*", "*", "*", "Europe/Madrid", "2026-12-02", "03:30:00", "CET",
        "job-1", "SUCCEEDED", "no",
    ]  # fmt: skip
    assert lines[2].split() == ["held\\x1b[2J", "every", "1m", "paused", "-", "-", "yes"]
    assert schedules_table([]).startswith("no schedules: create one with hodei schedule create")


def test_schedule_to_dict() -> None:
    data = schedule_to_dict(_schedule())
    assert data["name"] == "backup"
    assert (data["cron"], data["timezone"], data["every_seconds"]) == ("30 3 * * *", "Europe/Madrid", None)
    assert (data["overlap"], data["catch_up"], data["paused"]) == ("cancel-previous", "one", False)
    assert data["next_run"] == "2026-12-02T02:30:00Z"
    assert (data["last_job_id"], data["last_job_state"]) == (None, None)
    assert data["command"] == ["backup", "--all"]
    assert json.loads(json.dumps(data)) == data


def test_schedule_text() -> None:
    text = schedule_text(_schedule())
    assert "next run:     2026-12-02 03:30:00 CET" in text
    assert "overlap:      cancel-previous" in text
    assert "command:      backup --all" in text
    assert "env:          K=v" in text


def test_a_runs_job_shows_its_schedule_and_planned_time() -> None:
    job = v1.Job(
        id="j", spec=v1.JobSpec(name="backup", command=["x"]), state=v1.JobState.PENDING,
        schedule="backup", planned_at=NEXT,
    )  # fmt: skip
    data = job_to_dict(job)
    assert (data["schedule"], data["planned_at"]) == ("backup", "2026-12-02T02:30:00Z")
    text = job_text(job, NOW)
    assert "schedule:  backup" in text and "planned:   2026-12-02T02:30:00Z" in text
    other = job_to_dict(v1.Job(id="k", spec=v1.JobSpec(command=["x"])))
    assert (other["schedule"], other["planned_at"]) == (None, None)
    assert "schedule" not in job_text(v1.Job(id="k", spec=v1.JobSpec(command=["x"])), NOW)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90", 90.0),
        ("30s", 30.0),
        ("5m", 300.0),
        ("1h30m", 5400.0),
        ("1d", 86400.0),
        ("0.5s", 0.5),
        ("2S", 2.0),
    ],
)
def test_duration(text: str, seconds: float) -> None:
    assert duration(text) == seconds


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("0", "more than zero"),
        ("0s", "more than zero"),
        ("-5s", "expected a duration"),
        ("soon", "expected a duration"),
        ("5 m", "expected a duration"),
        ("", "expected a duration"),
    ],
)
def test_bad_durations_say_what_to_write(text: str, words: str) -> None:
    with pytest.raises(ArgumentTypeError) as refused:
        duration(text)
    assert words in str(refused.value) and "such as 30s, 5m, 1h30m or 1d" in str(refused.value)


def test_schedule_create_takes_every_job_option_of_job_run() -> None:
    args = parse_args(
        ["schedule", "create", "nightly", "--cron", "0 3 * * *", "--timezone", "Europe/Madrid",
         "--overlap", "cancel-previous", "--catch-up", "none", "--env", "A=1", "--cpu", "2",
         "--retries", "3", "--timeout", "60", "--", "make", "--all"]
    )  # fmt: skip
    spec = build_schedule(args)
    assert (spec.name, spec.cron, spec.timezone, spec.every_seconds) == (
        "nightly",
        "0 3 * * *",
        "Europe/Madrid",
        0,
    )
    assert (spec.overlap, spec.catch_up) == (v1.OverlapPolicy.CANCEL_PREVIOUS, v1.CatchUpPolicy.NONE)
    assert spec.job is not None
    assert (spec.job.command, dict(spec.job.env), spec.job.max_retries) == (["make", "--all"], {"A": "1"}, 3)
    assert spec.job.resources is not None and spec.job.resources.cpu == 2
    assert spec.job.name == "" and spec.job.timeout_seconds == 60


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["x", "--every", "1h", "--name", "n", "--", "true"], "drop --name"),
        (["x", "--every", "1h", "--idempotency-key", "k", "--", "true"], "drop --idempotency-key"),
        (["x", "--every", "1h", "--after", "0a1b", "--", "true"], "drop --after and --after-any"),
        (["x", "--every", "1h", "--timezone", "UTC", "--", "true"], "--timezone applies to --cron only"),
        (["x", "--every", "1h"], "schedule create needs a command after --, e.g. hodei schedule create x"),
    ],
)
def test_schedule_create_refuses_what_a_schedule_sets_itself(argv: list[str], words: str) -> None:
    with pytest.raises(UsageError) as refused:
        build_schedule(parse_args(["schedule", "create", *argv]))
    assert words in str(refused.value)


def test_schedule_create_needs_a_timetable() -> None:
    with pytest.raises(UsageError) as refused:
        parse_args(["schedule", "create", "x", "--", "true"])
    assert "one of the arguments --cron --every is required" in str(refused.value)
