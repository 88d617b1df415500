"""Label selectors: ``k=v``, ``k!=v``, ``k`` (exists), ``!k`` (absent), ``k in (a,b)``, ``k notin (a,b)``."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property

from hodei_api.names import LABEL_KEY

_KEY = LABEL_KEY.pattern
_VALUE = r"[A-Za-z0-9_.\-/:]*"
_PATTERNS = [
    (re.compile(rf"^({_KEY})\s+(in|notin)\s*\(([^()]*)\)$"), "set"),
    (re.compile(rf"^({_KEY})\s*(!=|==|=)\s*({_VALUE})$"), "eq"),
    (re.compile(rf"^!\s*({_KEY})$"), "absent"),
    (re.compile(rf"^({_KEY})$"), "exists"),
]


class SelectorError(ValueError):
    """A selector expression that cannot be parsed."""


@dataclass(frozen=True)
class Term:
    """One requirement on a worker's labels."""

    key: str
    op: str  # "=", "!=", "exists", "absent", "in", "notin"
    values: tuple[str, ...] = ()

    def __str__(self) -> str:
        return self.text

    @cached_property
    def text(self) -> str:
        """The expression in its canonical form (cached: every mismatch sentence uses it)."""
        if self.op in ("=", "!="):
            return f"{self.key}{self.op}{self.values[0]}"
        if self.op == "exists":
            return self.key
        if self.op == "absent":
            return f"!{self.key}"
        return f"{self.key} {self.op} ({','.join(self.values)})"

    def mismatch(self, labels: Mapping[str, str]) -> str | None:
        """None when ``labels`` satisfy the term, else a sentence saying why not."""
        have = labels.get(self.key)
        op = self.op
        if op == "=":
            ok = have == self.values[0]
        elif op == "!=":
            ok = have != self.values[0]
        elif op == "exists":
            ok = have is not None
        elif op == "absent":
            ok = have is None
        elif op == "in":
            ok = have in self.values
        else:
            ok = have not in self.values
        if ok:
            return None
        if have is None:
            return f"label {self.text}: worker has none"
        return f"label {self.text}: worker has {self.key}={have}"


def parse_term(expr: str) -> Term:
    """Parse one expression, or raise SelectorError saying what forms are accepted."""
    text = expr.strip()
    for pattern, kind in _PATTERNS:
        match = pattern.match(text)
        if not match:
            continue
        if kind == "set":
            values = tuple(v.strip() for v in match[3].split(","))
            if not all(re.fullmatch(_VALUE, v) and v for v in values):
                break
            return Term(match[1], match[2], values)
        if kind == "eq":
            return Term(match[1], "!=" if match[2] == "!=" else "=", (match[3],))
        return Term(match[1], kind)
    raise SelectorError(
        f"selector {expr!r} is not valid; use k=v, k!=v, k, !k, 'k in (a,b)' or 'k notin (a,b)'"
    )


def parse(exprs: Iterable[str]) -> tuple[Term, ...]:
    return tuple(parse_term(e) for e in exprs)
