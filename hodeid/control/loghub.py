"""Fan-out of live log lines to followers, with a bounded buffer per follower.

A follower too slow for the live stream is marked overflowed instead of slowing anyone:
it then catches up from storage by sequence number.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TypeAlias

from hodei_api import v1

Item: TypeAlias = v1.LogLines | v1.JobState


@dataclass(eq=False)
class Subscription:
    job_id: str
    queue: asyncio.Queue[Item] = field(default_factory=lambda: asyncio.Queue(maxsize=256))
    overflowed: bool = False

    def offer(self, item: Item) -> bool:
        """Queue ``item``; False (and overflowed) if the follower is too far behind for it."""
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            self.overflowed = True
            return False
        return True

    def resync(self) -> None:
        """Forget the queue before the follower reads storage: whatever is published from
        now on is queued (or marks an overflow), whatever was published before is stored."""
        while not self.queue.empty():
            self.queue.get_nowait()
        self.overflowed = False


class LogHub:
    def __init__(self) -> None:
        self._subs: dict[str, set[Subscription]] = defaultdict(set)
        self.overflows = 0
        """Times a follower fell too far behind the live stream and went back to storage."""

    def subscribe(self, job_id: str) -> Subscription:
        sub = Subscription(job_id)
        self._subs[job_id].add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        subs = self._subs.get(sub.job_id)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._subs[sub.job_id]

    def publish(self, job_id: str, lines: v1.LogLines) -> None:
        """Hand stored lines to the job's followers."""
        for sub in self._subs.get(job_id, ()):
            if not sub.overflowed and not sub.offer(lines):
                self.overflows += 1

    def finish(self, job_id: str, state: v1.JobState) -> None:
        """Tell the job's followers it reached a terminal state (after its last line)."""
        for sub in self._subs.get(job_id, ()):
            sub.offer(state)
