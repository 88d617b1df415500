"""Pure building blocks of hodei's output: timestamps, durations, tables and JSON.

Every string in text output passes through ``printable``: names, ids, labels and messages come
from the daemon and from whoever submitted the job, and must not reach a terminal as control
characters or forge a row with a newline."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime

from hodei_api import v1
from hodei_api.printable import json_printable, printable

# Shown in a table cell or a detail line that has no value.
NONE = "-"


def iso(moment: datetime | None) -> str | None:
    """ISO-8601 in UTC with a ``Z``, the form JSON consumers expect; ``None`` stays ``None``."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def age(seconds: float) -> str:
    """A coarse duration for a table: ``42s``, ``5m``, ``3h``, ``2d``."""
    # A clock running behind the daemon's would give negative ages; they read as "just now".
    whole = max(0, int(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if whole >= size:
            return f"{whole // size}{unit}"
    return f"{whole}s"


def age_since(moment: datetime | None, now: datetime) -> str:
    """How long ago ``moment`` was, or ``-`` when it never happened."""
    return NONE if moment is None else age((now - moment).total_seconds())


def number(value: float) -> str:
    """A number without a pointless ``.0``: ``2``, ``1.5``."""
    return f"{value:g}"


def clip(text: str, width: int) -> str:
    """``text`` made printable and cut to ``width`` characters, the cut marked with ``…``."""
    text = printable(text)
    return text if len(text) <= width else text[: width - 1] + "…"


def resources_dict(resources: v1.Resources | None) -> dict[str, object] | None:
    """CPUs and memory as JSON, or ``None`` when not set."""
    if resources is None:
        return None
    return {"cpu": resources.cpu, "memory_mb": resources.memory_mb}


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns two spaces apart, headers first; no trailing spaces; every cell
    made printable."""
    cells = [[printable(cell) for cell in row] for row in [headers, *rows]]
    widths = [len(header) for header in cells[0]]
    for row in cells[1:]:
        widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=True)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in cells
    ]
    return "\n".join(lines)


def details(pairs: Sequence[tuple[str, str]]) -> str:
    """``key: value`` lines with the values lined up, made printable."""
    width = max((len(key) for key, _ in pairs), default=0) + 1
    return "\n".join(f"{key + ':':<{width}} {printable(value)}".rstrip() for key, value in pairs)


def to_json(value: object) -> str:
    """Indented JSON for ``-o json``; controls in strings are escaped, C1 and bidi too."""
    return json_printable(json.dumps(value, indent=2, ensure_ascii=False))


def to_json_line(value: object) -> str:
    """One line of JSON for ``-o jsonl``, escaped as ``to_json`` is."""
    return json_printable(json.dumps(value, ensure_ascii=False))
