"""How jobs and their log lines look on the terminal and as JSON."""

from __future__ import annotations

import shlex
from datetime import datetime

from hodei_api import v1
from hodei_api.loglines import Line
from hodei_tui.cli.render import NONE, age_since, clip, details, iso, number, resources_dict, table
from hodei_tui.cli.render_usage import (
    USAGE_COLUMNS,
    cpu_cell,
    peak_cell,
    usage_cells,
    usage_line,
    usage_to_dict,
)

JOB_COLUMNS = ("ID", "NAME", "STATE", "ATTEMPT", "WORKER", "EXIT", "AGE")
# `job list -o wide` adds what the job's attempts used: CPU (user and system) and peak memory.
WIDE_COLUMNS = (*JOB_COLUMNS, "CPU", "MAX RSS")
# The daemon names a job after its command when not given a name; a long one would push the
# other columns off the screen.
NAME_WIDTH = 32
FINISHED = (v1.JobState.SUCCEEDED, v1.JobState.FAILED, v1.JobState.CANCELLED, v1.JobState.TIMED_OUT)
ATTEMPT_COLUMNS = (
    "#", "WORKER", "OUTCOME", "EXIT", "ASSIGNED", "STARTED", "FINISHED", *USAGE_COLUMNS, "REASON"
)  # fmt: skip


def attempt_to_dict(attempt: v1.Attempt) -> dict[str, object]:
    """One attempt as JSON; the outcome is its enum name (``SUCCEEDED``, ``LOST``…)."""
    return {
        "number": attempt.number,
        "worker_id": attempt.worker_id or None,
        "outcome": attempt.outcome.name,
        "exit_code": attempt.exit_code,
        "signal": attempt.signal,
        "reason": attempt.reason,
        "assigned_at": iso(attempt.assigned_at),
        "started_at": iso(attempt.started_at),
        "finished_at": iso(attempt.finished_at),
        "usage": usage_to_dict(attempt.usage),
    }


def job_to_dict(job: v1.Job) -> dict[str, object]:
    """A job as JSON: its state and outcome, everything it asked for, and its attempts."""
    spec = job.spec or v1.JobSpec()
    return {
        "id": job.id,
        "name": spec.name,
        "command": list(spec.command),
        "state": job.state.name,
        "exit_code": job.exit_code,
        "signal": job.signal,
        "attempt": job.attempt,
        "worker_id": job.worker_id or None,
        "priority": spec.priority,
        "reason": job.reason,
        "created_at": iso(job.created_at),
        "started_at": iso(job.started_at),
        "finished_at": iso(job.finished_at),
        "env": dict(spec.env),
        "cwd": spec.cwd,
        "selector": list(spec.selector),
        "resources": resources_dict(spec.resources),
        "timeout_seconds": spec.timeout_seconds,
        "max_retries": spec.max_retries,
        "retry_backoff_seconds": spec.retry_backoff_seconds,
        "idempotency_key": spec.idempotency_key,
        "kill_grace_seconds": spec.kill_grace_seconds,
        "after": list(spec.after),
        "after_any": list(spec.after_any),
        "schedule": job.schedule or None,
        "planned_at": iso(job.planned_at),
        "attempts": [attempt_to_dict(attempt) for attempt in job.attempts],
        "usage": usage_to_dict(job.usage),
    }


def outcome(exit_code: int | None, signal: int | None) -> str:
    """How a process ended, in a table cell: ``0``, ``sig 9`` or ``-``."""
    if signal:
        return f"sig {signal}"
    return NONE if exit_code is None else str(exit_code)


def jobs_table(jobs: list[v1.Job], now: datetime, *, wide: bool = False) -> str:
    """``job list``: one row per job, in the order given (the daemon sends newest first);
    ``wide`` adds the CPU and peak memory its attempts used."""
    rows = [
        (
            job.id,
            clip(job.spec.name if job.spec else "", NAME_WIDTH) or NONE,
            job.state.name,
            str(job.attempt),
            job.worker_id or NONE,
            outcome(job.exit_code, job.signal),
            age_since(job.created_at, now),
            *((cpu_cell(job.usage), peak_cell(job.usage)) if wide else ()),
        )
        for job in jobs
    ]
    return table(WIDE_COLUMNS if wide else JOB_COLUMNS, rows)


def cancel_text(job: v1.Job) -> str:
    """``job cancel``: the job's state, marked when the worker has yet to stop it."""
    if job.state in FINISHED:
        return job.state.name
    return f"{job.state.name} (cancel requested; it stops once its worker has killed it)"


def retry_text(job: v1.Job) -> str:
    """``job retry``: the job is queued again; what its next attempt will be numbered."""
    return f"{job.state.name} (queued again as attempt {job.attempt + 1}; earlier attempts and log kept)"


def _when(moment: datetime | None, now: datetime) -> str:
    return NONE if moment is None else f"{iso(moment)} ({age_since(moment, now)} ago)"


def spec_requests(spec: v1.JobSpec) -> list[tuple[str, str]]:
    """The spec fields that were set, so the detail view shows what the job asked for."""
    fields = [
        ("cwd", spec.cwd),
        ("env", " ".join(f"{key}={value}" for key, value in sorted(spec.env.items()))),
        ("selector", ", ".join(spec.selector)),
        ("cpu", number(spec.resources.cpu) if spec.resources and spec.resources.cpu else ""),
        ("memory", f"{spec.resources.memory_mb} MB" if spec.resources and spec.resources.memory_mb else ""),
        ("timeout", f"{number(spec.timeout_seconds)} s" if spec.timeout_seconds else ""),
        ("kill grace", f"{number(spec.kill_grace_seconds)} s" if spec.kill_grace_seconds else ""),
        ("retries", str(spec.max_retries) if spec.max_retries else ""),
        ("retry backoff", f"{number(spec.retry_backoff_seconds)} s" if spec.retry_backoff_seconds else ""),
        ("idempotency key", spec.idempotency_key),
        ("after", ", ".join(spec.after)),
        ("after any", ", ".join(spec.after_any)),
    ]
    return [(key, value) for key, value in fields if value]


def _scheduled(job: v1.Job) -> list[tuple[str, str]]:
    """The schedule whose run the job is, and the time it was planned for, if it is one."""
    if not job.schedule:
        return []
    return [("schedule", job.schedule), ("planned", iso(job.planned_at) or NONE)]


def job_text(job: v1.Job, now: datetime) -> str:
    """``job get``: ``key: value`` lines, then a table of attempts."""
    spec = job.spec or v1.JobSpec()
    head = details(
        [
            ("id", job.id),
            ("name", spec.name or NONE),
            *_scheduled(job),
            ("command", shlex.join(spec.command)),
            ("state", job.state.name),
            ("reason", job.reason or NONE),
            ("exit code", NONE if job.exit_code is None else str(job.exit_code)),
            ("signal", str(job.signal) if job.signal else NONE),
            ("attempt", str(job.attempt)),
            ("worker", job.worker_id or NONE),
            ("priority", str(spec.priority)),
            *spec_requests(spec),
            ("created", _when(job.created_at, now)),
            ("started", _when(job.started_at, now)),
            ("finished", _when(job.finished_at, now)),
            ("attempts", str(len(job.attempts)) if job.attempts else "none yet"),
            *([("usage", usage_line(job.usage))] if job.usage else []),
        ]
    )
    if not job.attempts:
        return head
    rows = [
        (
            str(attempt.number),
            attempt.worker_id or NONE,
            attempt.outcome.name,
            outcome(attempt.exit_code, attempt.signal),
            iso(attempt.assigned_at) or NONE,
            iso(attempt.started_at) or NONE,
            iso(attempt.finished_at) or NONE,
            *usage_cells(attempt.usage),
            attempt.reason or NONE,
        )
        for attempt in job.attempts
    ]
    attempts = table(ATTEMPT_COLUMNS, rows)
    return head + "\n" + "\n".join("  " + line for line in attempts.splitlines())


def log_line_to_dict(line: Line) -> dict[str, object]:
    """One log line for ``-o jsonl``: text decoded leniently, its newline dropped."""
    return {
        "seq": line.seq,
        "stream": line.stream.name.lower(),
        "line": line.data.decode("utf-8", errors="replace").removesuffix("\n"),
        "ts": iso(line.ts),
        "attempt": line.attempt,
    }
