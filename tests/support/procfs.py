"""Looking at real processes through /proc, for tests that must see none left behind."""

from __future__ import annotations

import asyncio
import ctypes
import os
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes in process group ``pgid``."""
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # it ended while we looked
        # "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
        state, _ppid, pgrp = text[text.rindex(")") + 2 :].split()[:3]
        if int(pgrp) == pgid and state != "Z":
            members.append(int(stat.parent.name))
    return members


async def wait_for_group(pgid: int, count: int, timeout: float = 30.0) -> list[int]:
    """Wait until group ``pgid`` has at least ``count`` live members; return them."""
    deadline = time.monotonic() + timeout
    while len(members := group_members(pgid)) < count:
        assert time.monotonic() < deadline, f"group {pgid} has {members}, wanted {count} processes"
        await asyncio.sleep(0.02)
    return members


async def wait_group_gone(pgid: int, timeout: float = 30.0) -> None:
    """Wait until nothing lives in group ``pgid``."""
    deadline = time.monotonic() + timeout
    while members := group_members(pgid):
        assert time.monotonic() < deadline, f"group {pgid} still has {members}"
        await asyncio.sleep(0.02)


def kill_group(pgid: int) -> None:
    """End what a failed test left in group ``pgid``, by its id."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def group_left_after(pgid: int, timeout: float) -> list[int]:
    """Wait up to ``timeout`` seconds for group ``pgid`` to empty; what is still in it (blocking,
    for tests that drive processes from synchronous code)."""
    deadline = time.monotonic() + timeout
    while (members := group_members(pgid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return members


def processes_naming(text: str) -> list[int]:
    """Live processes with ``text`` as one of their command-line arguments."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            args = cmdline.read_bytes().split(b"\0")
            state = (cmdline.parent / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue  # it ended while we looked
        if text.encode() in args and state != "Z":
            found.append(int(cmdline.parent.name))
    return found


def children(pid: int) -> dict[int, bool]:
    """The children of process ``pid``: for each, whether it is a zombie (exited, not reaped)."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # it ended while we looked
        state, ppid = text[text.rindex(")") + 2 :].split()[:2]
        if int(ppid) == pid:
            found[int(stat.parent.name)] = state == "Z"
    return found


def descendants(pid: int) -> list[int]:
    """Live processes below ``pid``, its children first."""
    found = [child for child, zombie in children(pid).items() if not zombie]
    for child in list(found):
        found += descendants(child)
    return found


@contextmanager
def adopting_orphans() -> Iterator[Callable[[], list[int]]]:
    """Make this process the subreaper of what it starts, and yield a function naming what was
    left: a process a child left behind, even one that made itself a daemon (as the embedded
    PostgreSQL's server does), then becomes this process's child instead of init's. What is
    left at the end is killed by PID."""
    libc = ctypes.CDLL(None, use_errno=True)
    before = set(children(os.getpid()))

    def left() -> list[int]:
        live = []
        for pid, zombie in children(os.getpid()).items():
            if pid in before:
                continue
            if zombie:
                os.waitpid(pid, os.WNOHANG)  # an adopted process that exited: reaped here
            else:
                live.append(pid)
        return live

    assert libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0, os.strerror(ctypes.get_errno())
    try:
        yield left
    finally:
        # Killing one may leave its own children to us: until none is left, or for 10 s.
        deadline = time.monotonic() + 10
        while (leftovers := left()) and time.monotonic() < deadline:
            for pid in leftovers:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            time.sleep(0.1)
        libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
