"""The submit form's fields turned into a ``JobSpec``, or a message per field saying what is
wrong, in the same words as ``hodei job run``'s flags: each field is read by its flag's type
and the spec is built by the same function as ``job run``'s, so the two cannot drift apart."""

from __future__ import annotations

import argparse
import shlex
from argparse import ArgumentTypeError
from collections.abc import Callable, Mapping
from typing import Any

from hodei_api import v1
from hodei_tui.cli import spec, values
from hodei_tui.errors import UsageError

# The order of the form, top to bottom; each name is the ``job run`` flag's destination.
FIELDS = (
    "command", "name", "env", "selector", "cpu", "memory", "priority", "timeout", "retries",
    "cwd", "kill_grace", "retry_backoff", "idempotency_key", "after", "after_any",
)  # fmt: skip
TEXTS = ("name", "cwd", "idempotency_key")
NUMBERS: dict[str, Callable[[str], Any]] = {
    "cpu": values.non_negative_float,
    "memory": values.megabytes,
    "priority": values.priority,
    "timeout": values.non_negative_float,
    "retries": values.retries,
    "kill_grace": values.non_negative_float,
    "retry_backoff": values.non_negative_float,
}


def split_selector(text: str) -> list[str]:
    """Label expressions separated by commas, except inside ``in (a,b)``."""
    parts, depth, current = [], 0, ""
    for char in text:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [p.strip() for p in parts if p.strip()]


def _command(text: str) -> list[str]:
    try:
        command = shlex.split(text)
    except ValueError as exc:
        raise ArgumentTypeError(f"cannot split the command into words: {exc}") from None
    if not command or not command[0]:
        raise ArgumentTypeError("a command is needed, e.g. sh -c 'echo hi'")
    return command


def _env(text: str) -> list[tuple[str, str]]:
    try:
        pairs = [values.key_value(word) for word in shlex.split(text)]
        spec.environment(pairs)
    except (ValueError, ArgumentTypeError, UsageError) as exc:
        raise ArgumentTypeError(f"{str(exc).removeprefix('--env ')} (K=V separated by spaces)") from None
    return pairs


def _selector(text: str) -> list[str]:
    return [values.selector(expr) for expr in split_selector(text)]


def _job_ids(text: str) -> list[str]:
    """Job ids (or unique prefixes) separated by spaces or commas; the daemon resolves them."""
    return text.replace(",", " ").split()


def _optional(read: Callable[[str], Any]) -> Callable[[str], Any]:
    """An empty number field is the flag not given: the proto's zero, the daemon's default."""
    return lambda text: read(text) if text else None


def build_spec(fields: Mapping[str, str]) -> tuple[v1.JobSpec | None, dict[str, str]]:
    """The spec, or None and the errors by field name."""
    errors: dict[str, str] = {}
    args = argparse.Namespace(**{name: fields.get(name, "").strip() for name in TEXTS})
    readers: dict[str, Callable[[str], Any]] = {
        "command": _command,
        "env": _env,
        "selector": _selector,
        "after": _job_ids,
        "after_any": _job_ids,
        **{name: _optional(read) for name, read in NUMBERS.items()},
    }
    for name, read in readers.items():
        try:
            setattr(args, name, read(fields.get(name, "").strip()))
        except ArgumentTypeError as exc:
            errors[name] = str(exc)
    if errors:
        return None, errors
    return spec.build_spec(args), {}
