"""Turning ``hodei job run``'s arguments into the ``JobSpec`` sent to the daemon."""

from __future__ import annotations

import argparse

from hodei_api import v1
from hodei_tui.errors import UsageError


def command_words(
    words: list[str], what: str = "job run", example: str = "hodei job run -- echo hi"
) -> list[str]:
    """The job's argv: what follows ``--`` (argparse keeps that separator in a remainder)."""
    argv = words[1:] if words[:1] == ["--"] else words
    if not argv or not argv[0]:
        raise UsageError(f"{what} needs a command after --, e.g. {example}")
    return argv


def environment(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """The job's environment; a variable given twice is refused rather than one value dropped."""
    env: dict[str, str] = {}
    for key, value in pairs:
        if key in env:
            raise UsageError(f"--env {key} is given twice; give each variable once")
        env[key] = value
    return env


def build_spec(
    args: argparse.Namespace, what: str = "job run", example: str = "hodei job run -- echo hi"
) -> v1.JobSpec:
    """Every job option set into a spec; options not given keep the proto's zero value,
    which the daemon reads as "no requirement" or "its default"."""
    resources = None
    if args.cpu is not None or args.memory is not None:
        resources = v1.Resources(cpu=args.cpu or 0.0, memory_mb=args.memory or 0)
    return v1.JobSpec(
        name=args.name or "",
        command=command_words(args.command, what, example),
        env=environment(args.env),
        cwd=args.cwd or "",
        selector=list(args.selector),
        resources=resources,
        priority=args.priority or 0,
        timeout_seconds=args.timeout or 0.0,
        max_retries=args.retries or 0,
        retry_backoff_seconds=args.retry_backoff or 0.0,
        kill_grace_seconds=args.kill_grace or 0.0,
        idempotency_key=args.idempotency_key or "",
        after=list(args.after),
        after_any=list(args.after_any),
    )


OVERLAP = {"skip": "SKIP", "allow": "ALLOW", "cancel-previous": "CANCEL_PREVIOUS"}
CATCH_UP = {"one": "ONE", "none": "NONE"}


def build_schedule(args: argparse.Namespace) -> v1.ScheduleSpec:
    """``schedule create``'s arguments as the spec sent to the daemon; the job options that a
    schedule sets itself are refused."""
    example = f"hodei schedule create {args.schedule_name} --every 1h -- echo tick"
    job = build_spec(args, "schedule create", example)
    if job.name:
        raise UsageError("a schedule's runs are named after the schedule; drop --name")
    if job.idempotency_key:
        raise UsageError(
            "a schedule's runs take their idempotency key from the schedule and the planned time; "
            "drop --idempotency-key"
        )
    if job.after or job.after_any:
        raise UsageError(
            "a schedule's runs cannot wait on other jobs (every run would wait on the same ones); "
            "drop --after and --after-any"
        )
    if args.timezone and not args.cron:
        raise UsageError("--timezone applies to --cron only; drop it, or give --cron EXPR")
    return v1.ScheduleSpec(
        name=args.schedule_name,
        cron=args.cron or "",
        timezone=args.timezone,
        every_seconds=args.every or 0.0,
        overlap=v1.OverlapPolicy[OVERLAP[args.overlap]],
        catch_up=v1.CatchUpPolicy[CATCH_UP[args.catch_up]],
        job=job,
    )
