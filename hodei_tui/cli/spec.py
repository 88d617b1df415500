"""Turning ``hodei job run``'s arguments into the ``JobSpec`` sent to the daemon."""

from __future__ import annotations

import argparse

from hodei_api import v1
from hodei_tui.errors import UsageError


def command_words(words: list[str]) -> list[str]:
    """The job's argv: what follows ``--`` (argparse keeps that separator in a remainder)."""
    argv = words[1:] if words[:1] == ["--"] else words
    if not argv or not argv[0]:
        raise UsageError("job run needs a command after --, e.g. hodei job run -- echo hi")
    return argv


def environment(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """The job's environment; a variable given twice is refused rather than one value dropped."""
    env: dict[str, str] = {}
    for key, value in pairs:
        if key in env:
            raise UsageError(f"--env {key} is given twice; give each variable once")
        env[key] = value
    return env


def build_spec(args: argparse.Namespace) -> v1.JobSpec:
    """Every ``job run`` flag set into a spec; flags not given keep the proto's zero value,
    which the daemon reads as "no requirement" or "its default"."""
    resources = None
    if args.cpu is not None or args.memory is not None:
        resources = v1.Resources(cpu=args.cpu or 0.0, memory_mb=args.memory or 0)
    return v1.JobSpec(
        name=args.name or "",
        command=command_words(args.command),
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
