"""How what an attempt used (``Usage``: CPU, peak memory, wall time) looks in a table cell, a
detail line and JSON."""

from __future__ import annotations

from hodei_api import v1
from hodei_tui.cli.render import NONE

USAGE_COLUMNS = ("CPU USER", "CPU SYS", "MAX RSS", "WALL")
_BINARY = (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10))


def duration(seconds: float) -> str:
    """CPU or wall time, as precise as is worth reading: ``0.05s``, ``12.3s``, ``4m05s``, ``2h07m``."""
    seconds = max(0.0, seconds)
    if seconds < 10:
        return f"{seconds:.2f}s"
    if seconds < 60:
        return f"{seconds:.1f}s"
    whole = int(seconds)
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


def size(count: int) -> str:
    """Bytes in binary units, three figures at most: ``512 B``, ``7.5 MiB``, ``312 MiB``, ``1.2 GiB``."""
    for unit, scale in _BINARY:
        if count >= scale:
            value = count / scale
            return f"{value:.1f} {unit}" if value < 100 else f"{value:.0f} {unit}"
    return f"{max(0, count)} B"


def usage_cells(usage: v1.Usage | None) -> tuple[str, str, str, str]:
    """The cells under ``USAGE_COLUMNS``; ``-`` in each when nothing was reported."""
    if usage is None:
        return NONE, NONE, NONE, NONE
    return (
        duration(usage.cpu_user_seconds),
        duration(usage.cpu_system_seconds),
        size(usage.max_rss_bytes),
        duration(usage.wall_seconds),
    )


def cpu_cell(usage: v1.Usage | None) -> str:
    """CPU time in user and system mode together, for ``job list -o wide``."""
    return NONE if usage is None else duration(usage.cpu_user_seconds + usage.cpu_system_seconds)


def peak_cell(usage: v1.Usage | None) -> str:
    return NONE if usage is None else size(usage.max_rss_bytes)


def usage_line(usage: v1.Usage | None) -> str:
    """One line: ``cpu 1.20s user + 0.30s sys · peak 312 MiB · wall 4.51s``; ``-`` if none."""
    if usage is None:
        return NONE
    user, system, peak, wall = usage_cells(usage)
    return f"cpu {user} user + {system} sys · peak {peak} · wall {wall}"


def usage_to_dict(usage: v1.Usage | None) -> dict[str, object] | None:
    """The kernel's figures as JSON, in seconds and bytes; ``None`` when nothing was reported."""
    if usage is None:
        return None
    return {
        "cpu_user_seconds": usage.cpu_user_seconds,
        "cpu_system_seconds": usage.cpu_system_seconds,
        "max_rss_bytes": usage.max_rss_bytes,
        "wall_seconds": usage.wall_seconds,
    }
