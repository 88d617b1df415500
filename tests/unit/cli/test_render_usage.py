"""What attempts used, as the CLI and the console show it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from hodei_api import v1
from hodei_tui.cli.render_jobs import attempt_to_dict, job_text, job_to_dict, jobs_table
from hodei_tui.cli.render_usage import (
    cpu_cell,
    duration,
    peak_cell,
    size,
    usage_cells,
    usage_line,
    usage_to_dict,
)

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
USAGE = v1.Usage(cpu_user_seconds=1.234, cpu_system_seconds=0.3, max_rss_bytes=327 << 20, wall_seconds=75.5)


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0, "0.00s"),
        (0.004, "0.00s"),
        (0.3, "0.30s"),
        (9.994, "9.99s"),
        (12.34, "12.3s"),
        (59.9, "59.9s"),
        (60, "1m00s"),
        (245.9, "4m05s"),
        (3599, "59m59s"),
        (3600, "1h00m"),
        (7620, "2h07m"),
        (-1, "0.00s"),
    ],
)
def test_duration(seconds: float, expected: str) -> None:
    assert duration(seconds) == expected


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1.0 KiB"),
        (7_864_320, "7.5 MiB"),
        (300 << 20, "300 MiB"),
        (99 << 20, "99.0 MiB"),
        (1288490189, "1.2 GiB"),
        (200 << 30, "200 GiB"),
    ],
)
def test_size(count: int, expected: str) -> None:
    assert size(count) == expected


def test_cells_and_line() -> None:
    assert usage_cells(USAGE) == ("1.23s", "0.30s", "327 MiB", "1m15s")
    assert usage_line(USAGE) == "cpu 1.23s user + 0.30s sys · peak 327 MiB · wall 1m15s"
    assert (cpu_cell(USAGE), peak_cell(USAGE)) == ("1.53s", "327 MiB")


def test_nothing_reported_shows_a_dash() -> None:
    assert usage_cells(None) == ("-", "-", "-", "-")
    assert (usage_line(None), cpu_cell(None), peak_cell(None), usage_to_dict(None)) == ("-", "-", "-", None)


def test_json_in_seconds_and_bytes() -> None:
    attempt = attempt_to_dict(v1.Attempt(number=1, outcome=v1.AttemptOutcome.SUCCEEDED, usage=USAGE))
    assert attempt["usage"] == {
        "cpu_user_seconds": 1.234,
        "cpu_system_seconds": 0.3,
        "max_rss_bytes": 327 << 20,
        "wall_seconds": 75.5,
    }
    job = job_to_dict(v1.Job(id="j", spec=v1.JobSpec(command=["x"]), usage=USAGE))
    assert job["usage"] == attempt["usage"]
    assert json.loads(json.dumps(job)) == job


def _job(**overrides: Any) -> v1.Job:
    fields: dict[str, Any] = {
        "id": "job-1",
        "spec": v1.JobSpec(name="hog", command=["hog"]),
        "state": v1.JobState.SUCCEEDED,
        "attempt": 1,
        "worker_id": "w-1",
        "exit_code": 0,
        "created_at": NOW,
    }
    return v1.Job(**(fields | overrides))


def test_job_get_shows_each_attempts_usage_and_the_totals() -> None:
    attempts = [
        v1.Attempt(number=1, worker_id="w-1", outcome=v1.AttemptOutcome.LOST, reason="stream lost"),
        v1.Attempt(number=2, worker_id="w-1", outcome=v1.AttemptOutcome.SUCCEEDED, exit_code=0, usage=USAGE),
    ]
    lines = job_text(_job(attempts=attempts, usage=USAGE), NOW).splitlines()
    assert "usage:     cpu 1.23s user + 0.30s sys · peak 327 MiB · wall 1m15s" in lines
    header, lost, succeeded = lines[-3:]
    assert "CPU USER  CPU SYS  MAX RSS  WALL   REASON" in header
    assert lost.split()[-6:] == ["-", "-", "-", "-", "stream", "lost"]
    assert succeeded.split()[-6:] == ["1.23s", "0.30s", "327", "MiB", "1m15s", "-"]


def test_job_list_wide_adds_cpu_and_peak_memory() -> None:
    jobs = [_job(usage=USAGE), _job(id="job-2", state=v1.JobState.PENDING, attempt=0, exit_code=None)]
    assert jobs_table(jobs, NOW, wide=True).splitlines() == [
        "ID     NAME  STATE      ATTEMPT  WORKER  EXIT  AGE  CPU    MAX RSS",
        "job-1  hog   SUCCEEDED  1        w-1     0     0s   1.53s  327 MiB",
        "job-2  hog   PENDING    0        w-1     -     0s   -      -",
    ]
    assert "CPU" not in jobs_table(jobs, NOW).splitlines()[0]
