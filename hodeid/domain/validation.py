"""Checks on what clients send: a submitted job spec (every field is honoured or refused with a
reason), and a worker's id and label keys at Hello."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

from hodei_api.gen.hodei.v1 import JobSpec
from hodei_api.names import label_key_problem, worker_id_problem
from hodeid.domain.selectors import SelectorError, parse
from hodeid.errors import InvalidRequest

MAX_ARGS = 4096
MAX_ARG_BYTES = 128 * 1024
MAX_ENV = 1024
MAX_ENV_BYTES = 128 * 1024
MAX_SELECTOR_TERMS = 64
MAX_LABEL_BYTES = 1024
MAX_NAME = 200
MAX_PRIORITY = 1000
MAX_RETRIES = 100
_ENV_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MAX_KEY = 256
MAX_DEPENDENCIES = 1000
# A job id is 36 characters; a longer one is no id.
MAX_JOB_ID = 36


def _number(name: str, value: float, *, upper: float | None = None) -> None:
    if math.isnan(value) or value < 0 or math.isinf(value):
        raise InvalidRequest(f"{name} must be a non-negative number, got {value:g}")
    if upper is not None and value > upper:
        raise InvalidRequest(f"{name} must be at most {upper:g}, got {value:g}")


@dataclass(frozen=True)
class SpecLimits:
    """The configurable sizes of a job spec (``limits.*`` in hodeid's settings)."""

    max_command_args: int = MAX_ARGS
    max_command_bytes: int = MAX_ARG_BYTES
    max_env_vars: int = MAX_ENV
    max_env_bytes: int = MAX_ENV_BYTES
    max_selector_terms: int = MAX_SELECTOR_TERMS
    max_label_bytes: int = MAX_LABEL_BYTES


def validate_worker(worker_id: str, labels: Mapping[str, str]) -> None:
    """Raise InvalidRequest unless the worker id and every label key keep to their safe
    characters (``hodei_api.names``); label values may hold anything."""
    problems = [worker_id_problem(worker_id), *(label_key_problem(key) for key in sorted(labels))]
    if found := [problem for problem in problems if problem]:
        raise InvalidRequest("; ".join(found[:3]))


def validate(spec: JobSpec, limits: SpecLimits = SpecLimits()) -> JobSpec:
    """Return ``spec`` with a default name, or raise InvalidRequest saying what to fix."""
    if not spec.command or not spec.command[0]:
        raise InvalidRequest("the job has no command; give one, e.g. hodei job run -- echo hi")
    if len(spec.command) > limits.max_command_args:
        raise InvalidRequest(
            f"the command has {len(spec.command)} arguments; at most {limits.max_command_args} "
            "(limits.max_command_args)"
        )
    total = sum(len(a.encode()) for a in spec.command)
    if total > limits.max_command_bytes:
        raise InvalidRequest(
            f"the command is {total} bytes long; at most {limits.max_command_bytes} "
            "(limits.max_command_bytes)"
        )
    if any("\0" in a for a in spec.command):
        raise InvalidRequest("the command contains a NUL byte, which no program can receive")
    if len(spec.env) > limits.max_env_vars:
        raise InvalidRequest(
            f"the job sets {len(spec.env)} environment variables; at most {limits.max_env_vars} "
            "(limits.max_env_vars)"
        )
    env_bytes = sum(len(k.encode()) + len(v.encode()) for k, v in spec.env.items())
    if env_bytes > limits.max_env_bytes:
        raise InvalidRequest(
            f"the environment is {env_bytes} bytes; at most {limits.max_env_bytes} (limits.max_env_bytes)"
        )
    if len(spec.selector) > limits.max_selector_terms:
        raise InvalidRequest(
            f"the selector has {len(spec.selector)} terms; at most {limits.max_selector_terms} "
            "(limits.max_selector_terms)"
        )
    for term in spec.selector:
        if len(term.encode()) > limits.max_label_bytes:
            raise InvalidRequest(
                f"selector term {term[:40]!r}... is {len(term.encode())} bytes; at most "
                f"{limits.max_label_bytes} (limits.max_label_bytes)"
            )
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
    _dependencies(spec)
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
        after=list(spec.after),
        after_any=list(spec.after_any),
    )


def _dependencies(spec: JobSpec) -> None:
    count = len(spec.after) + len(spec.after_any)
    if count > MAX_DEPENDENCIES:
        raise InvalidRequest(
            f"the job names {count} dependencies (after, after_any); at most {MAX_DEPENDENCIES}"
        )
    for flag, ids in (("--after", spec.after), ("--after-any", spec.after_any)):
        for job_id in ids:
            if not job_id or len(job_id) > MAX_JOB_ID or not job_id.isprintable():
                raise InvalidRequest(
                    f"{flag} {job_id[:40]!r} is not a job id; give a job's id or a unique prefix of "
                    "it (at least 4 hex digits, as hodei job list shows)"
                )
