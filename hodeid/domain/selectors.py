"""Label selectors as the scheduler uses them: parsed by the grammar in ``hodei_api.selectors``,
matched here against a worker's labels."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property

from hodei_api.selectors import SelectorError as SelectorError
from hodei_api.selectors import parse_expression


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
    return Term(*parse_expression(expr))


def parse(exprs: Iterable[str]) -> tuple[Term, ...]:
    return tuple(parse_term(e) for e in exprs)
