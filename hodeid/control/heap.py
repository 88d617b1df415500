"""Giving freed memory back to the system after log streams end.

glibc keeps the memory a program frees for its next allocations: after many followers of a big
log were served, the daemon stayed some 60 MiB larger (measured with
scripts/bench/log_followers.py) until ``malloc_trim`` returned the free pages. Elsewhere than
glibc this does nothing.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
from collections.abc import Callable

# Streams often end together (a console closes, a script's readers finish): one trim for them all.
DELAY_SECONDS = 1.0


def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    libc = ctypes.CDLL(name) if name else None
    return getattr(libc, "malloc_trim", None)


class Heap:
    def __init__(self) -> None:
        self._trim = _malloc_trim()
        self._pending: asyncio.Task[None] | None = None
        self._closed = False
        self.trims = 0
        """Times the free memory was handed back."""

    def trim_soon(self) -> None:
        """Hand the free memory back to the system shortly, once for the streams ending now."""
        if self._trim is not None and self._pending is None and not self._closed:
            self._pending = asyncio.create_task(self._trim_later(self._trim), name="heap trim")

    async def close(self) -> None:
        """Cancel a trim not yet done; trim no more."""
        self._closed = True
        if self._pending is not None:
            self._pending.cancel()
            await asyncio.gather(self._pending, return_exceptions=True)

    async def _trim_later(self, trim: Callable[[int], int]) -> None:
        try:
            await asyncio.sleep(DELAY_SECONDS)
            # ctypes lets go of the GIL: the heap is walked in a thread, the loop goes on.
            await asyncio.to_thread(trim, 0)
            self.trims += 1
        finally:
            self._pending = None
