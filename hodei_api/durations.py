"""Intervals as people write them, shared by the daemon's messages and the CLI's tables."""

from __future__ import annotations


def interval_text(seconds: float) -> str:
    """An interval as it would be written: ``90s``, ``5m``, ``1h30m``, ``1d``."""
    if seconds != int(seconds) or seconds < 60:
        return f"{seconds:g}s"
    whole, parts = int(seconds), []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if whole >= size:
            parts.append(f"{whole // size}{unit}")
            whole %= size
    return "".join(parts)
