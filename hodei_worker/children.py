"""How the worker learns that a child asyncio started exited (the job user's probes of a
``--cwd``; a job's own process is reaped by ``reaping``, which reads its rusage)."""

from __future__ import annotations

import asyncio
import os
import sys


def wait_by_pidfd() -> None:
    """From now on, the running event loop hears each child's exit on a pidfd (Linux 5.3+).

    Python 3.11's default waits for every child in a thread of its own: a thread started and a
    blocking waitpid per job, a tenth of the worker's CPU per short job. 3.12 and later use a
    pidfd by themselves when they can, as this does where the kernel allows it.
    """
    if sys.version_info >= (3, 12) or not hasattr(os, "pidfd_open"):
        return
    try:
        os.close(os.pidfd_open(os.getpid()))
    except OSError:  # a kernel without pidfds (before 5.3), or a sandbox that refuses them
        return
    watcher = asyncio.PidfdChildWatcher()
    watcher.attach_loop(asyncio.get_running_loop())
    asyncio.set_child_watcher(watcher)
