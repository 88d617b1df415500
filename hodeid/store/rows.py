"""Rows to contract messages: the proto enums are stored under their own names."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hodei_api import loglines, v1

Row = Mapping[str, Any]

# A stored stream's name to its number: a dict lookup per line is cheaper than the enum's.
_STREAM_NUMBER = {stream.name: stream.value for stream in v1.LogStream}


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
    )


def log_lines(found: Sequence[Row]) -> v1.LogLines:
    """Rows of ``read_log_lines``, column by column: no message per line."""
    return loglines.columns(
        seqs=[row["seq"] for row in found],
        streams=[_STREAM_NUMBER[row["stream"]] for row in found],
        data=[row["data"] for row in found],
        ts_micros=[row["ts_micros"] for row in found],
        attempts=[row["attempt"] for row in found],
    )
