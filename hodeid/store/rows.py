"""Rows to contract messages: the proto enums are stored under their own names."""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from typing import Any

from hodei_api import v1

Row = Mapping[str, Any]


def job_spec(row: Row) -> v1.JobSpec:
    return v1.JobSpec(
        name=row["name"],
        command=list(row["command"]),
        env=dict(row["env"]),
        cwd=row["cwd"],
        selector=list(row["selector"]),
        resources=v1.Resources(cpu=row["cpu"], memory_mb=row["memory_mb"]),
        priority=row["priority"],
        timeout_seconds=row["timeout_seconds"],
        max_retries=row["max_retries"],
        retry_backoff_seconds=row["retry_backoff_seconds"],
        idempotency_key=row["idempotency_key"] or "",
        kill_grace_seconds=row["kill_grace_seconds"],
        after=[str(j) for j in row["after_ok"]],
        after_any=[str(j) for j in row["after_any"]],
    )


def usage(row: Row) -> v1.Usage | None:
    """The usage columns of an attempt's or a job's row; None when nothing was reported."""
    if row["wall_seconds"] is None:
        return None
    return v1.Usage(
        cpu_user_seconds=row["cpu_user_seconds"],
        cpu_system_seconds=row["cpu_system_seconds"],
        max_rss_bytes=row["max_rss_bytes"],
        wall_seconds=row["wall_seconds"],
    )


def attempt(row: Row) -> v1.Attempt:
    return v1.Attempt(
        number=row["number"],
        worker_id=row["worker_id"],
        outcome=v1.AttemptOutcome[row["outcome"]],
        exit_code=row["exit_code"],
        signal=row["signal"],
        reason=row["reason"],
        assigned_at=row["assigned_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        usage=usage(row),
    )


def job(row: Row, attempts: Sequence[Row] = ()) -> v1.Job:
    return v1.Job(
        id=str(row["id"]),
        spec=job_spec(row),
        state=v1.JobState[row["state"]],
        attempt=row["attempt"],
        worker_id=row["worker_id"] or "",
        exit_code=row["exit_code"],
        signal=row["signal"],
        reason=row["reason"],
        created_at=row["created_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        attempts=[attempt(a) for a in attempts],
        usage=usage(row),
        schedule=row.get("schedule") or "",
        planned_at=row.get("planned_at"),
    )


def log_lines(found: Row) -> v1.LogLines:
    """The row of ``read_log_lines``: its big-endian columns in the wire's little-endian."""
    count = found["count"]
    return v1.LogLines(
        seqs=_little_endian(found["seqs"], count, "q"),
        streams=found["streams"],
        ts_unix_micros=_little_endian(found["ts_micros"], count, "q"),
        lengths=_little_endian(found["lengths"], count, "I"),
        data=found["data"],
        attempts=_little_endian(found["attempts"], count, "i"),
    )


def _little_endian(column: bytes, count: int, kind: str) -> bytes:
    return struct.pack(f"<{count}{kind}", *struct.unpack(f">{count}{kind}", column))
