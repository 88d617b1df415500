"""Following a job's log across broken streams and daemon restarts."""

from __future__ import annotations

import asyncio
import time
from contextlib import aclosing
from typing import Protocol

from hodei_api import v1
from hodei_api.backoff import Backoff
from hodei_api.loglines import pack, seq_numbers, unpack
from hodei_tui.backend import Backend
from hodei_tui.errors import DaemonUnreachable

# How long to keep trying to reach a daemon that went away before hodei gives up.
GIVE_UP_AFTER = 60.0
# The shortest wait granted to one probe of the daemon, even with the patience nearly spent.
MIN_PROBE_TIMEOUT = 1.0


class LogSink(Protocol):
    """Where followed log lines go."""

    def write(self, lines: v1.LogLines) -> None:
        """Show one chunk's lines (checked: see ``loglines.check``), in order, and flush them."""


async def follow_log(
    backend: Backend,
    job_id: str,
    sink: LogSink,
    *,
    after_seq: int = 0,
    follow: bool = True,
    give_up_after: float = GIVE_UP_AFTER,
    backoff: Backoff | None = None,
) -> v1.JobState:
    """Write a job's log after ``after_seq`` to ``sink``, each line once and in order.

    When the stream breaks, wait for a daemon (with backoff; with several addresses the next
    one that answers) and resume after the last line seen, so a follower moves from a dead
    daemon to another with no line missed or repeated. Returns the job's final state, or
    ``UNSPECIFIED`` without ``follow`` once the history is written. Raises
    ``DaemonUnreachable`` after ``give_up_after`` seconds in a row without reaching a daemon,
    and ``RequestRefused`` if the daemon refuses the stream.
    """
    backoff = backoff or Backoff()
    last_seq = after_seq
    while True:
        try:
            async with aclosing(backend.stream_packed_logs(job_id, last_seq, follow)) as chunks:
                async for chunk in chunks:
                    backoff.reset()
                    fresh = _fresh(chunk.lines, last_seq)
                    sink.write(fresh)
                    last_seq = max([last_seq, *seq_numbers(fresh)])
                    if chunk.final_state != v1.JobState.UNSPECIFIED:
                        return chunk.final_state
            if not follow:
                return v1.JobState.UNSPECIFIED
            # A followed stream that ends without a final state was closed by a daemon
            # shutting down: wait for it like for a broken connection.
        except DaemonUnreachable:
            pass
        await _wait_for_daemon(backend, job_id, backoff, give_up_after)


def _fresh(lines: v1.LogLines, last_seq: int) -> v1.LogLines:
    """The lines not seen yet: lines replayed after a reconnect are dropped. A line without a
    sequence number (0; workers start at 1) cannot be a replay and is always shown."""
    seqs = seq_numbers(lines)
    if not seqs or min(seqs) > last_seq:
        return lines
    return pack(line for line in unpack(lines) if not line.seq or line.seq > last_seq)


async def _wait_for_daemon(
    backend: Backend,
    job_id: str,
    backoff: Backoff,
    give_up_after: float,
) -> None:
    """Return once a daemon answers for the job again.

    A cheap ``GetJob`` tells "the daemon is back" apart from "the stream opened", which a
    silent job cannot show, and its timeout bounds a connect that would otherwise hang.
    """
    deadline = time.monotonic() + give_up_after
    while (remaining := deadline - time.monotonic()) > 0:
        await asyncio.sleep(min(backoff.next_delay(), remaining))
        try:
            async with asyncio.timeout(max(deadline - time.monotonic(), MIN_PROBE_TIMEOUT)):
                await backend.get_job(job_id)
        except (DaemonUnreachable, TimeoutError):
            continue
        return
    raise DaemonUnreachable(
        f"lost hodeid at {', '.join(backend.addrs)} for {give_up_after:g} s while following job {job_id}; "
        f"it may still be running: check with 'hodei job get {job_id}' once hodeid is back"
    )
