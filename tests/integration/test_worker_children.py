"""The worker hears a job's exit without starting a thread for it (where pidfds exist)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

# Run in a process of its own: the child watcher is global to the asyncio policy.
PROGRAM = """
import asyncio, threading
from hodei_worker.children import wait_by_pidfd

async def main() -> None:
    wait_by_pidfd()
    process = await asyncio.create_subprocess_exec("sleep", "0.2")
    waiting = [t.name for t in threading.enumerate() if t is not threading.main_thread()]
    assert await process.wait() == 0
    print(waiting)

asyncio.run(main())
"""


@pytest.mark.skipif(not hasattr(os, "pidfd_open"), reason="no pidfds on this platform")
def test_a_childs_exit_is_heard_without_a_thread() -> None:
    result = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
