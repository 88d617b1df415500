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

    def offer(self, item: Item) -> None:
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            self.overflowed = True


class LogHub:
    def __init__(self) -> None:
        self._subs: dict[str, set[Subscription]] = defaultdict(set)

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
            sub.offer(lines)

    def finish(self, job_id: str, state: v1.JobState) -> None:
        """Tell the job's followers it reached a terminal state (after its last line)."""
        for sub in self._subs.get(job_id, ()):
            sub.offer(state)
