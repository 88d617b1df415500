"""Argument types: each turns one command-line word into a value or says what was expected."""

from __future__ import annotations

import math
import re
from argparse import ArgumentTypeError

from hodei_api.selectors import SelectorError, parse_expression

INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1


def _whole(text: str, low: int, high: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < low:
        raise ArgumentTypeError(f"expected a whole number >= {low}, got {text!r}")
    if value > high:
        raise ArgumentTypeError(f"expected a whole number <= {high}, got {text!r}")
    return value


def non_negative_float(text: str) -> float:
    """A finite number >= 0 (seconds, CPUs)."""
    try:
        value = float(text)
    except ValueError:
        raise ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise ArgumentTypeError(f"expected a finite number >= 0, got {text!r}")
    return value


def megabytes(text: str) -> int:
    """A memory size in MB: a whole number >= 0."""
    return _whole(text, 0, INT64_MAX)


def sequence(text: str) -> int:
    """A log sequence number: a whole number >= 0."""
    return _whole(text, 0, INT64_MAX)


def count(text: str) -> int:
    """How many to show: a whole number >= 1."""
    return _whole(text, 1, INT32_MAX)


def retries(text: str) -> int:
    """How many times to retry a failed job: a whole number >= 0."""
    return _whole(text, 0, INT32_MAX)


def priority(text: str) -> int:
    """A priority, higher runs first: any whole number an int32 holds, negative included."""
    return _whole(text, -INT32_MAX - 1, INT32_MAX)


def key_value(text: str) -> tuple[str, str]:
    """``K=V`` with a non-empty key; the value may be empty or contain ``=``."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise ArgumentTypeError(f"expected K=V, got {text!r}")
    return key, value


def selector(text: str) -> str:
    """A label expression (``k=v``, ``k!=v``, ``k``, ``!k``, ``k in (a,b)``), checked by the
    grammar hodeid parses it with."""
    if not text.strip():
        raise ArgumentTypeError("expected a label expression such as gpu=true, got ''")
    try:
        parse_expression(text)
    except SelectorError as exc:
        raise ArgumentTypeError(str(exc)) from None
    return text.strip()


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhd])")
DURATION_HINT = "write a positive duration such as 30s, 5m, 1h30m or 1d"


def duration(text: str) -> float:
    """An interval in seconds: ``90``, ``30s``, ``5m``, ``1h30m``, ``1d``; more than zero."""
    compact = text.strip().lower()
    if re.fullmatch(r"\d+(?:\.\d+)?", compact):
        seconds = float(compact)
    elif compact and _DURATION.sub("", compact) == "":
        seconds = sum(float(n) * _UNITS[unit] for n, unit in _DURATION.findall(compact))
    else:
        raise ArgumentTypeError(f"expected a duration, got {text!r}: {DURATION_HINT}")
    if not math.isfinite(seconds) or seconds <= 0:
        raise ArgumentTypeError(f"the duration must be more than zero, got {text!r}: {DURATION_HINT}")
    return seconds
