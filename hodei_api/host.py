"""Facts about this host that a worker offers, shared by the worker and the daemon's local
provider (which must know what the workers it starts will offer)."""

from __future__ import annotations

import os
from pathlib import Path

_MEMINFO = Path("/proc/meminfo")


def total_memory_mb() -> int:
    """The host's total memory in MiB, from /proc/meminfo where there is one."""
    try:
        for line in _MEMINFO.read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024  # the value is in kB
    except OSError:
        pass  # not Linux: ask sysconf below
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
