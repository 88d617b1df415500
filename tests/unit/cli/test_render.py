"""Pure rendering: timestamps, ages, tables, and jobs, workers and log lines as text and JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from hodei_api import v1
from hodei_api.loglines import Line, micros
from hodei_tui.cli.render import age, clip, details, iso, table
from hodei_tui.cli.render_jobs import (
    cancel_text,
    job_text,
    job_to_dict,
    jobs_table,
    log_line_to_dict,
    outcome,
)
from hodei_tui.cli.render_workers import worker_to_dict, workers_table

NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (None, None),
        (datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC), "2025-06-01T12:00:00Z"),
        (datetime(2025, 6, 1, 12, 0, 0, 250000, tzinfo=UTC), "2025-06-01T12:00:00.250000Z"),
        # Any zone comes out as UTC.
        (datetime(2025, 6, 1, 14, 0, 0, tzinfo=timezone(timedelta(hours=2))), "2025-06-01T12:00:00Z"),
    ],
)
def test_iso(moment: datetime | None, expected: str | None) -> None:
    assert iso(moment) == expected


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (-5, "0s"),
        (0, "0s"),
        (59.9, "59s"),
        (60, "1m"),
        (3599, "59m"),
        (3600, "1h"),
        (86399, "23h"),
        (86400, "1d"),
        (10 * 86400, "10d"),
    ],
)
def test_age(seconds: float, expected: str) -> None:
    assert age(seconds) == expected


@pytest.mark.parametrize(
    ("headers", "rows", "expected"),
    [
        (("A", "B"), [], "A  B"),
        (("ID", "X"), [("long-id", "1"), ("i", "22")], "ID       X\nlong-id  1\ni        22"),
        # The last column is not padded, so no line ends in spaces.
        (("A", "LONGER"), [("x", "")], "A  LONGER\nx"),
    ],
)
def test_table(headers: tuple[str, ...], rows: list[tuple[str, ...]], expected: str) -> None:
    assert table(headers, rows) == expected


@pytest.mark.parametrize(
    ("text", "width", "expected"),
    [("", 3, ""), ("abc", 3, "abc"), ("abcd", 3, "ab…"), ("sh -c 'long command'", 8, "sh -c '…")],
)
def test_clip(text: str, width: int, expected: str) -> None:
    assert clip(text, width) == expected


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (v1.JobState.CANCELLED, "CANCELLED"),
        (v1.JobState.SUCCEEDED, "SUCCEEDED"),
        (v1.JobState.RUNNING, "RUNNING (cancel requested; it stops once its worker has killed it)"),
        (v1.JobState.PENDING, "PENDING (cancel requested; it stops once its worker has killed it)"),
    ],
)
def test_cancel_text(state: v1.JobState, expected: str) -> None:
    assert cancel_text(v1.Job(id="j", state=state)) == expected


def test_details_align_values() -> None:
    assert details([("id", "j"), ("exit code", "1"), ("empty", "")]) == "id:        j\nexit code: 1\nempty:"


@pytest.mark.parametrize(
    ("exit_code", "signal", "expected"),
    [(None, None, "-"), (0, None, "0"), (3, None, "3"), (None, 9, "sig 9"), (None, 0, "-")],
)
def test_outcome(exit_code: int | None, signal: int | None, expected: str) -> None:
    assert outcome(exit_code, signal) == expected


def _job(**overrides: Any) -> v1.Job:
    fields: dict[str, Any] = {
        "id": "job-1",
        "spec": v1.JobSpec(name="build", command=["make", "all files"], priority=2),
        "state": v1.JobState.FAILED,
        "attempt": 2,
        "worker_id": "w-2",
        "exit_code": 3,
        "reason": "exit code 3",
        "created_at": NOW - timedelta(minutes=5),
        "started_at": NOW - timedelta(minutes=4),
        "finished_at": NOW - timedelta(minutes=1),
        "attempts": [
            v1.Attempt(
                number=1,
                worker_id="w-1",
                outcome=v1.AttemptOutcome.LOST,
                reason="stream lost",
                assigned_at=NOW - timedelta(minutes=5),
            ),
            v1.Attempt(
                number=2,
                worker_id="w-2",
                outcome=v1.AttemptOutcome.FAILED,
                exit_code=3,
                assigned_at=NOW - timedelta(minutes=4),
                started_at=NOW - timedelta(minutes=4),
                finished_at=NOW - timedelta(minutes=1),
            ),
        ],
    }
    fields.update(overrides)
    return v1.Job(**fields)


def test_job_to_dict() -> None:
    data = job_to_dict(_job())
    assert {
        key: data[key] for key in ("id", "name", "command", "state", "exit_code", "signal", "attempt")
    } == {
        "id": "job-1",
        "name": "build",
        "command": ["make", "all files"],
        "state": "FAILED",
        "exit_code": 3,
        "signal": None,
        "attempt": 2,
    }
    assert data["worker_id"] == "w-2"
    assert data["priority"] == 2
    assert data["reason"] == "exit code 3"
    assert data["created_at"] == "2025-06-01T11:55:00Z"
    assert data["started_at"] == "2025-06-01T11:56:00Z"
    assert data["finished_at"] == "2025-06-01T11:59:00Z"
    assert data["attempts"] == [
        {
            "number": 1,
            "worker_id": "w-1",
            "outcome": "LOST",
            "exit_code": None,
            "signal": None,
            "reason": "stream lost",
            "assigned_at": "2025-06-01T11:55:00Z",
            "started_at": None,
            "finished_at": None,
            "usage": None,
        },
        {
            "number": 2,
            "worker_id": "w-2",
            "outcome": "FAILED",
            "exit_code": 3,
            "signal": None,
            "reason": "",
            "assigned_at": "2025-06-01T11:56:00Z",
            "started_at": "2025-06-01T11:56:00Z",
            "finished_at": "2025-06-01T11:59:00Z",
            "usage": None,
        },
    ]
    # Everything in it survives a trip through JSON.
    assert json.loads(json.dumps(data)) == data


def test_job_to_dict_of_a_fresh_job_uses_nulls() -> None:
    data = job_to_dict(v1.Job(id="j", spec=v1.JobSpec(command=["x"]), state=v1.JobState.PENDING))
    assert data["state"] == "PENDING"
    assert data["worker_id"] is None
    assert data["exit_code"] is None
    assert data["started_at"] is None
    assert data["resources"] is None
    assert data["attempts"] == []


def test_job_to_dict_carries_the_whole_spec() -> None:
    spec = v1.JobSpec(
        command=["x"],
        env={"A": "1"},
        cwd="/srv",
        selector=["gpu"],
        resources=v1.Resources(cpu=2, memory_mb=64),
        timeout_seconds=9.5,
        max_retries=1,
        idempotency_key="k",
    )
    data = job_to_dict(v1.Job(id="j", spec=spec))
    assert data["env"] == {"A": "1"}
    assert data["cwd"] == "/srv"
    assert data["selector"] == ["gpu"]
    assert data["resources"] == {"cpu": 2.0, "memory_mb": 64}
    assert data["timeout_seconds"] == 9.5
    assert data["max_retries"] == 1
    assert data["idempotency_key"] == "k"


def test_jobs_table() -> None:
    jobs = [
        _job(),
        _job(
            id="job-2",
            spec=v1.JobSpec(command=["x"]),
            state=v1.JobState.PENDING,
            attempt=0,
            worker_id="",
            exit_code=None,
            created_at=NOW - timedelta(seconds=3),
        ),
        _job(
            id="job-3",
            spec=v1.JobSpec(name="sh -c 'for i in $(seq 100); do echo $i; done'"),
            state=v1.JobState.CANCELLED,
            exit_code=None,
            signal=15,
            created_at=NOW - timedelta(days=2),
        ),
    ]
    assert jobs_table(jobs, NOW).splitlines() == [
        "ID     NAME                              STATE      ATTEMPT  WORKER  EXIT    AGE",
        "job-1  build                             FAILED     2        w-2     3       5m",
        "job-2  -                                 PENDING    0        -       -       3s",
        "job-3  sh -c 'for i in $(seq 100); do …  CANCELLED  2        w-2     sig 15  2d",
    ]


def test_job_text() -> None:
    text = job_text(_job(spec=v1.JobSpec(name="build", command=["make", "all files"], cwd="/srv")), NOW)
    lines = text.splitlines()
    assert lines[:6] == [
        "id:        job-1",
        "name:      build",
        "command:   make 'all files'",
        "state:     FAILED",
        "reason:    exit code 3",
        "exit code: 3",
    ]
    assert "cwd:       /srv" in lines
    assert "created:   2025-06-01T11:55:00Z (5m ago)" in lines
    assert "attempts:  2" in lines
    assert lines[-3].split() == [
        "#",
        "WORKER",
        "OUTCOME",
        "EXIT",
        "ASSIGNED",
        "STARTED",
        "FINISHED",
        "CPU",
        "USER",
        "CPU",
        "SYS",
        "MAX",
        "RSS",
        "WALL",
        "REASON",
    ]
    assert lines[-2].split() == [
        "1", "w-1", "LOST", "-", "2025-06-01T11:55:00Z", "-", "-", "-", "-", "-", "-", "stream", "lost"
    ]  # fmt: skip
    assert lines[-1].split()[:4] == ["2", "w-2", "FAILED", "3"]


def test_job_text_shows_the_failure_handling_asked_for() -> None:
    spec = v1.JobSpec(command=["x"], kill_grace_seconds=3, max_retries=2, retry_backoff_seconds=1.5)
    lines = job_text(v1.Job(id="j", spec=spec, state=v1.JobState.PENDING), NOW).splitlines()
    assert {"kill grace:    3 s", "retries:       2", "retry backoff: 1.5 s"} <= set(lines)


def test_job_text_without_attempts() -> None:
    text = job_text(v1.Job(id="j", spec=v1.JobSpec(command=["x"]), state=v1.JobState.PENDING), NOW)
    assert text.splitlines()[-1] == "attempts:  none yet"
    assert "started:   -" in text.splitlines()


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            Line(1, v1.LogStream.STDOUT, b"hello\n", micros(NOW), 1),
            {"seq": 1, "stream": "stdout", "line": "hello", "ts": "2025-06-01T12:00:00Z", "attempt": 1},
        ),
        (
            Line(2, v1.LogStream.STDERR, b"no newline", micros(NOW) + 1, 2),
            {
                "seq": 2,
                "stream": "stderr",
                "line": "no newline",
                "ts": "2025-06-01T12:00:00.000001Z",
                "attempt": 2,
            },
        ),
        (
            Line(0, v1.LogStream.SYSTEM, b"bad \xff byte\n\n", micros(NOW), 1),
            {
                "seq": 0,
                "stream": "system",
                "line": "bad \ufffd byte\n",
                "ts": "2025-06-01T12:00:00Z",
                "attempt": 1,
            },
        ),
    ],
)
def test_log_line_to_dict(line: Line, expected: dict[str, object]) -> None:
    assert log_line_to_dict(line) == expected


def _worker(**overrides: Any) -> v1.WorkerInfo:
    fields: dict[str, Any] = {
        "id": "w-1",
        "hostname": "box",
        "labels": {"zone": "a", "gpu": "true"},
        "live": True,
        "slots_total": 4,
        "slots_used": 1,
        "resources_total": v1.Resources(cpu=8, memory_mb=16384),
        "resources_free": v1.Resources(cpu=6.5, memory_mb=6144),
        "heartbeat_age_seconds": 0.42,
        "rtt_ms": 1.234,
        "connected_at": NOW,
        "reconnects": 2,
        "version": "0.1.0",
        "daemon_id": "a1b2c3d4e5f60718293a4b5c6d7e8f90",
    }
    fields.update(overrides)
    return v1.WorkerInfo(**fields)


def test_worker_to_dict_has_every_field() -> None:
    assert worker_to_dict(_worker()) == {
        "id": "w-1",
        "hostname": "box",
        "labels": {"zone": "a", "gpu": "true"},
        "live": True,
        "draining": False,
        "slots_total": 4,
        "slots_used": 1,
        "resources_total": {"cpu": 8.0, "memory_mb": 16384},
        "resources_free": {"cpu": 6.5, "memory_mb": 6144},
        "heartbeat_age_seconds": 0.42,
        "rtt_ms": 1.234,
        "connected_at": "2025-06-01T12:00:00Z",
        "last_seen_at": None,
        "reconnects": 2,
        "version": "0.1.0",
        "daemon_id": "a1b2c3d4e5f60718293a4b5c6d7e8f90",
        "from_record": False,
    }
    assert set(worker_to_dict(v1.WorkerInfo())) == {
        field.name for field in v1.WorkerInfo.__dataclass_fields__.values()
    }


def test_workers_table() -> None:
    workers = [
        _worker(),
        _worker(
            id="w-2",
            labels={},
            live=False,
            draining=True,
            resources_total=None,
            resources_free=None,
            heartbeat_age_seconds=31.0,
            rtt_ms=0.0,
        ),
        _worker(
            id="w-3",
            labels={},
            daemon_id="ffee0011aabbccddeeff001122334455",
            from_record=True,
            heartbeat_age_seconds=0.0,
            rtt_ms=0.0,
        ),
    ]
    assert workers_table(workers).splitlines() == [
        "ID   DAEMON    LIVE  SLOTS USED  CPU USED  MEM USED        HEARTBEAT  RTT    LABELS           "
        "DRAINING",
        "w-1  a1b2c3d4  yes   1/4         1.5/8     10240/16384 MB  0.4s       1.2ms  gpu=true,zone=a  no",
        "w-2  a1b2c3d4  no    1/4         -         -               31.0s      -      -                yes",
        "w-3  ffee0011  yes   1/4         1.5/8     10240/16384 MB  -          -      -                -",
    ]
