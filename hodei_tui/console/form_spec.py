"""The submit form's fields turned into a ``JobSpec``, or a message per field saying what is
wrong, in the same words as ``hodei job run``'s flags."""

from __future__ import annotations

import shlex
from argparse import ArgumentTypeError
from collections.abc import Callable, Mapping
from typing import Any

from hodei_api import v1
from hodei_tui.cli import values

FIELDS = ("command", "name", "env", "selector", "cpu", "memory", "priority", "timeout", "retries")


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


def _number(parse: Callable[[str], Any], text: str) -> Any:
    return parse(text.strip()) if text.strip() else None


def build_spec(fields: Mapping[str, str]) -> tuple[v1.JobSpec | None, dict[str, str]]:
    """The spec, or None and the errors by field name."""
    errors: dict[str, str] = {}
    command: list[str] = []
    try:
        command = shlex.split(fields.get("command", ""))
    except ValueError as exc:
        errors["command"] = f"cannot split the command into words: {exc}"
    if not command and "command" not in errors:
        errors["command"] = "a command is needed, e.g. sh -c 'echo hi'"
    env: dict[str, str] = {}
    try:
        for word in shlex.split(fields.get("env", "")):
            key, value = values.key_value(word)
            if key in env:
                raise ArgumentTypeError(f"{key} is given twice; give each variable once")
            env[key] = value
    except (ValueError, ArgumentTypeError) as exc:
        errors["env"] = f"{exc} (K=V separated by spaces)"
    parsed: dict[str, Any] = {}
    for name, parse in (
        ("cpu", values.non_negative_float), ("memory", values.megabytes), ("priority", values.priority),
        ("timeout", values.non_negative_float), ("retries", values.retries),
    ):  # fmt: skip
        try:
            parsed[name] = _number(parse, fields.get(name, ""))
        except ArgumentTypeError as exc:
            errors[name] = str(exc)
    if errors:
        return None, errors
    resources = None
    if parsed["cpu"] is not None or parsed["memory"] is not None:
        resources = v1.Resources(cpu=parsed["cpu"] or 0.0, memory_mb=parsed["memory"] or 0)
    spec = v1.JobSpec(
        name=fields.get("name", "").strip(),
        command=command,
        env=env,
        selector=split_selector(fields.get("selector", "")),
        resources=resources,
        priority=parsed["priority"] or 0,
        timeout_seconds=parsed["timeout"] or 0.0,
        max_retries=parsed["retries"] or 0,
    )
    return spec, {}
