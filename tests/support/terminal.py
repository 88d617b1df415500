"""Reading what a program writes to a pseudo-terminal, with a deadline."""

from __future__ import annotations

import os
import select
import subprocess
import time


def read_until(fd: int, wanted: bytes, timeout: float = 30.0) -> bytes:
    """What the program wrote to the terminal ``fd`` up to and including ``wanted``; fails if
    it is not shown within ``timeout`` seconds or the program closes the terminal first."""
    seen = b""
    deadline = time.monotonic() + timeout
    while wanted not in seen:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"{wanted!r} not shown; the terminal got {seen[-2000:]!r}")
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                seen += os.read(fd, 65536)
            except OSError:  # the child closed the terminal
                raise AssertionError(
                    f"the program closed the terminal before showing {wanted!r}; it wrote {seen[-2000:]!r}"
                ) from None
    return seen


def drain(fd: int, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """Read what the console writes until it exits: a full terminal would block it."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                os.read(fd, 65536)
            except OSError:
                return
