"""``hodei`` with no command, and ``hodei tui``, open the console in a terminal; q quits."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.processes import free_port

HODEI = str(Path(sys.executable).parent / "hodei")


def read_until(fd: int, wanted: bytes, timeout: float = 30.0) -> bytes:
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
                break
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


@pytest.mark.parametrize("argv", [[], ["tui"]])
def test_console_opens_and_quits(argv: list[str]) -> None:
    # Nothing listens on the port: the console opens anyway and says it is disconnected.
    addr = f"127.0.0.1:{free_port()}"
    env = {**os.environ, "HODEI_ADDR": addr, "TERM": "xterm-256color", "COLUMNS": "140", "LINES": "40"}
    main, child = pty.openpty()
    proc = subprocess.Popen([HODEI, *argv], stdin=child, stdout=child, stderr=child, env=env)
    os.close(child)
    try:
        read_until(main, b"DISCONNECTED")
        os.write(main, b"q")
        drain(main, proc)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(main)
