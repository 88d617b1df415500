"""How schedules look on the terminal and as JSON. Planned times are shown in the local time
zone of whoever looks (with its name), and in UTC in JSON."""

from __future__ import annotations

import shlex
from datetime import datetime

from hodei_api import v1
from hodei_api.durations import interval_text
from hodei_tui.cli.render import NONE, clip, details, iso, resources_dict, table
from hodei_tui.cli.render_jobs import NAME_WIDTH, spec_requests

SCHEDULE_COLUMNS = ("NAME", "SCHEDULE", "NEXT RUN", "LAST JOB", "LAST STATE", "PAUSED")
OVERLAP_WORDS = {
    v1.OverlapPolicy.UNSPECIFIED: "skip",
    v1.OverlapPolicy.SKIP: "skip",
    v1.OverlapPolicy.ALLOW: "allow",
    v1.OverlapPolicy.CANCEL_PREVIOUS: "cancel-previous",
}
CATCH_UP_WORDS = {
    v1.CatchUpPolicy.UNSPECIFIED: "one",
    v1.CatchUpPolicy.ONE: "one",
    v1.CatchUpPolicy.NONE: "none",
}


def expression(spec: v1.ScheduleSpec) -> str:
    """``cron 30 2 * * * Europe/Madrid`` or ``every 5m``."""
    if spec.cron:
        return f"cron {spec.cron}" + (f" {spec.timezone}" if spec.timezone else " UTC")
    return f"every {interval_text(spec.every_seconds)}"


def local_time(moment: datetime | None) -> str:
    """A moment in this machine's time zone, named: ``2026-12-01 03:00:00 CET``."""
    if moment is None:
        return NONE
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")


def last_state(schedule: v1.Schedule) -> str:
    if not schedule.last_job_id:
        return NONE
    # The job of the last run may have been deleted; its state is then unknown.
    return schedule.last_job_state.name if schedule.last_job_state else NONE


def schedule_to_dict(schedule: v1.Schedule) -> dict[str, object]:
    """A schedule as JSON: its timetable and policies, what it runs, its next and last run."""
    spec = schedule.spec or v1.ScheduleSpec()
    job = spec.job or v1.JobSpec()
    return {
        "name": spec.name,
        "cron": spec.cron or None,
        "timezone": spec.timezone or None,
        "every_seconds": spec.every_seconds or None,
        "expression": expression(spec),
        "overlap": OVERLAP_WORDS[spec.overlap],
        "catch_up": CATCH_UP_WORDS[spec.catch_up],
        "paused": schedule.paused,
        "next_run": iso(schedule.next_run),
        "created_at": iso(schedule.created_at),
        "last_job_id": schedule.last_job_id or None,
        "last_job_state": last_state(schedule) if schedule.last_job_id else None,
        "last_planned": iso(schedule.last_planned),
        "command": list(job.command),
        "env": dict(job.env),
        "cwd": job.cwd,
        "selector": list(job.selector),
        "resources": resources_dict(job.resources),
        "priority": job.priority,
        "timeout_seconds": job.timeout_seconds,
        "max_retries": job.max_retries,
        "retry_backoff_seconds": job.retry_backoff_seconds,
        "kill_grace_seconds": job.kill_grace_seconds,
    }


def schedules_table(schedules: list[v1.Schedule]) -> str:
    """``schedule list``: one row per schedule, by name."""
    if not schedules:
        return "no schedules: create one with hodei schedule create NAME --every 1h -- CMD"
    rows = [
        (
            clip(s.spec.name if s.spec else "", NAME_WIDTH),
            expression(s.spec or v1.ScheduleSpec()),
            "paused" if s.paused else local_time(s.next_run),
            s.last_job_id or NONE,
            last_state(s),
            "yes" if s.paused else "no",
        )
        for s in schedules
    ]
    return table(SCHEDULE_COLUMNS, rows)


def schedule_text(schedule: v1.Schedule) -> str:
    """``schedule get``: ``key: value`` lines."""
    spec = schedule.spec or v1.ScheduleSpec()
    job = spec.job or v1.JobSpec()
    return details(
        [
            ("name", spec.name),
            ("schedule", expression(spec)),
            ("overlap", OVERLAP_WORDS[spec.overlap]),
            ("catch-up", CATCH_UP_WORDS[spec.catch_up]),
            ("paused", "yes" if schedule.paused else "no"),
            ("next run", "paused" if schedule.paused else local_time(schedule.next_run)),
            ("last job", schedule.last_job_id or NONE),
            ("last state", last_state(schedule)),
            ("last planned", local_time(schedule.last_planned)),
            ("created", local_time(schedule.created_at)),
            ("command", shlex.join(job.command)),
            ("priority", str(job.priority)),
            *spec_requests(job),
        ]
    )
