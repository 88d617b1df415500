"""Checks on a submitted job spec: every field is honoured or refused with a reason."""

from __future__ import annotations

import math
import re

from hodei_api.gen.hodei.v1 import JobSpec
from hodeid.domain.selectors import SelectorError, parse
from hodeid.errors import InvalidRequest

MAX_ARGS = 4096
MAX_ARG_BYTES = 128 * 1024
MAX_ENV = 1024
MAX_NAME = 200
MAX_PRIORITY = 1000
MAX_RETRIES = 100
_ENV_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MAX_KEY = 256


def _number(name: str, value: float, *, upper: float | None = None) -> None:
    if math.isnan(value) or value < 0 or math.isinf(value):
        raise InvalidRequest(f"{name} must be a non-negative number, got {value:g}")
    if upper is not None and value > upper:
        raise InvalidRequest(f"{name} must be at most {upper:g}, got {value:g}")


def validate(spec: JobSpec) -> JobSpec:
    """Return ``spec`` with a default name, or raise InvalidRequest saying what to fix."""
    if not spec.command or not spec.command[0]:
        raise InvalidRequest("the job has no command; give one, e.g. hodei job run -- echo hi")
    if len(spec.command) > MAX_ARGS:
        raise InvalidRequest(f"the command has {len(spec.command)} arguments; at most {MAX_ARGS}")
    total = sum(len(a.encode()) for a in spec.command)
    if total > MAX_ARG_BYTES:
        raise InvalidRequest(f"the command is {total} bytes long; at most {MAX_ARG_BYTES}")
    if any("\0" in a for a in spec.command):
        raise InvalidRequest("the command contains a NUL byte, which no program can receive")
    if len(spec.env) > MAX_ENV:
        raise InvalidRequest(f"the job sets {len(spec.env)} environment variables; at most {MAX_ENV}")
    for key, value in spec.env.items():
        if not _ENV_KEY.fullmatch(key):
            raise InvalidRequest(
                f"environment variable name {key!r} is not valid; use [A-Za-z_][A-Za-z0-9_]*"
            )
        if "\0" in value:
            raise InvalidRequest(f"environment variable {key} contains a NUL byte")
    for field, text in (
        ("working directory", spec.cwd),
        ("name", spec.name),
        ("idempotency key", spec.idempotency_key),
    ):
        if "\0" in text:
            raise InvalidRequest(f"the {field} contains a NUL byte")
    if len(spec.idempotency_key) > MAX_KEY:
        raise InvalidRequest(
            f"the idempotency key is {len(spec.idempotency_key)} characters; at most {MAX_KEY}"
        )
    if len(spec.name) > MAX_NAME:
        raise InvalidRequest(f"the job name is {len(spec.name)} characters; at most {MAX_NAME}")
    try:
        parse(spec.selector)
    except SelectorError as exc:
        raise InvalidRequest(str(exc)) from exc
    resources = spec.resources
    if resources is not None:
        _number("cpu", resources.cpu)
        _number("memory", float(resources.memory_mb))
    _number("timeout", spec.timeout_seconds)
    _number("retry backoff", spec.retry_backoff_seconds)
    _number("kill grace", spec.kill_grace_seconds)
    _number("retries", float(spec.max_retries), upper=MAX_RETRIES)
    if abs(spec.priority) > MAX_PRIORITY:
        raise InvalidRequest(
            f"priority must be between -{MAX_PRIORITY} and {MAX_PRIORITY}, got {spec.priority}"
        )
    name = spec.name or " ".join(spec.command)[:60]
    return JobSpec(
        name=name,
        command=list(spec.command),
        env=dict(spec.env),
        cwd=spec.cwd,
        selector=list(spec.selector),
        resources=resources,
        priority=spec.priority,
        timeout_seconds=spec.timeout_seconds,
        max_retries=spec.max_retries,
        retry_backoff_seconds=spec.retry_backoff_seconds,
        idempotency_key=spec.idempotency_key,
        kill_grace_seconds=spec.kill_grace_seconds,
    )
