"""Looking at real processes through /proc, for tests that must see none left behind."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path


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
