"""``hodei`` with no command, and ``hodei tui``, open the console in a terminal; q quits."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.processes import free_port
from tests.support.terminal import drain, read_until

HODEI = str(Path(sys.executable).parent / "hodei")


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
