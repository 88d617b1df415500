"""Waiting for a job's process ourselves, with ``wait4``, so that what the kernel counted for it
(its rusage) is ours to read: asyncio's child watchers reap with ``waitpid`` and drop it."""

from __future__ import annotations

import asyncio
import os
import resource
import subprocess
import sys
import threading
from dataclasses import dataclass

# ru_maxrss is in KiB on Linux, in bytes on macOS.
_MAXRSS_UNIT = 1 if sys.platform == "darwin" else 1024
# What asyncio reports for a child someone else reaped: its status is gone.
_UNKNOWN_STATUS = 255


@dataclass(frozen=True)
class Rusage:
    """What ``wait4`` returned for one process: its own use and that of the descendants it
    waited for (the kernel adds those in when they are reaped)."""

    cpu_user_seconds: float
    cpu_system_seconds: float
    max_rss_bytes: int


@dataclass(frozen=True)
class Exit:
    returncode: int
    """As ``Popen.returncode``: the exit code, or minus the signal that killed it."""
    rusage: Rusage | None
    """None if the process was reaped by someone else (its use is lost with its status)."""


def reap(process: subprocess.Popen[bytes]) -> asyncio.Future[Exit]:
    """A future of ``process``'s exit, which this reaps with ``wait4``. The process must be a
    child nobody else waits for (not started by asyncio's subprocess functions)."""
    loop = asyncio.get_running_loop()
    ended: asyncio.Future[Exit] = loop.create_future()
    try:
        pidfd = os.pidfd_open(process.pid)
    except (AttributeError, OSError):  # no pidfd here (before Linux 5.3, or not Linux)
        _wait_in_thread(loop, process, ended)
        return ended

    def exited() -> None:
        found = _wait4(process, os.WNOHANG)
        if found is None:
            return  # woken without an exit to reap
        loop.remove_reader(pidfd)
        os.close(pidfd)
        _settle(ended, found)

    loop.add_reader(pidfd, exited)
    return ended


def _wait_in_thread(
    loop: asyncio.AbstractEventLoop, process: subprocess.Popen[bytes], ended: asyncio.Future[Exit]
) -> None:
    def wait() -> None:
        found = _wait4(process, 0)
        assert found is not None, "a blocking wait4 returns only once it reaped"
        loop.call_soon_threadsafe(_settle, ended, found)

    threading.Thread(target=wait, name=f"reap-{process.pid}", daemon=True).start()


def _settle(ended: asyncio.Future[Exit], found: Exit) -> None:
    if not ended.done():
        ended.set_result(found)


def _wait4(process: subprocess.Popen[bytes], options: int) -> Exit | None:
    try:
        pid, status, usage = os.wait4(process.pid, options)
    except ChildProcessError:
        found = Exit(_UNKNOWN_STATUS, None)
    else:
        if pid == 0:
            return None
        found = Exit(os.waitstatus_to_exitcode(status), _rusage(usage))
    # Popen must not wait for it again (it would, in its destructor or a later Popen's cleanup).
    process.returncode = found.returncode
    return found


def _rusage(usage: resource.struct_rusage) -> Rusage:
    return Rusage(usage.ru_utime, usage.ru_stime, usage.ru_maxrss * _MAXRSS_UNIT)
