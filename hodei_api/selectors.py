"""The label selector grammar: ``k=v``, ``k!=v``, ``k`` (exists), ``!k`` (absent),
``k in (a,b)``, ``k notin (a,b)``. Part of the contract: hodeid parses a job's selector with
it when the job is submitted, and hodei checks each expression with it as it is typed, so
the CLI and the console refuse what the daemon would refuse, in the same words."""

from __future__ import annotations

import re

from hodei_api.names import LABEL_KEY

VALUE = re.compile(r"[A-Za-z0-9_.\-/:]*")
_KEY = LABEL_KEY.pattern
_PATTERNS = [
    (re.compile(rf"^({_KEY})\s+(in|notin)\s*\(([^()]*)\)$"), "set"),
    (re.compile(rf"^({_KEY})\s*(!=|==|=)\s*({VALUE.pattern})$"), "eq"),
    (re.compile(rf"^!\s*({_KEY})$"), "absent"),
    (re.compile(rf"^({_KEY})$"), "exists"),
]
FORMS = "k=v, k!=v, k, !k, 'k in (a,b)' or 'k notin (a,b)'"


class SelectorError(ValueError):
    """A selector expression that cannot be parsed."""


def parse_expression(expr: str) -> tuple[str, str, tuple[str, ...]]:
    """One expression as its key, operator (``=``, ``!=``, ``exists``, ``absent``, ``in``,
    ``notin``) and values; raises SelectorError saying what forms are accepted."""
    text = expr.strip()
    for pattern, kind in _PATTERNS:
        match = pattern.match(text)
        if not match:
            continue
        if kind == "set":
            values = tuple(v.strip() for v in match[3].split(","))
            if not all(v and VALUE.fullmatch(v) for v in values):
                break
            return match[1], match[2], values
        if kind == "eq":
            return match[1], "!=" if match[2] == "!=" else "=", (match[3],)
        return match[1], kind, ()
    raise SelectorError(f"selector {expr!r} is not valid; use {FORMS}")
