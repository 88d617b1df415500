"""Fan-out of live log lines to followers, with buffers bounded in bytes.

A follower too slow for the live stream is marked overflowed instead of slowing anyone:
its queue is dropped and it catches up from storage by sequence number. A follower's queue
may hold ``follower_bytes``; all queues together ``total_bytes``. A follower whose queue holds
no lines (one keeping up) always takes the next batch, so no batch is too big to follow live.

The hub publishes the lines this daemon stores. Of lines another daemon stores (a worker
streaming to it) it hears only that they were stored, up to which seq: it wakes the job's
followers (a ``Wake``, at most one queued per follower, news heard meanwhile added to it), and
they read the lines from storage.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TypeAlias

from hodei_api import v1
from hodei_api.loglines import seq_numbers, size_of


@dataclass(eq=False)
class Wake:
    """News from the database for a follower, which reads storage (or the job's state) for it."""

    stored: int = 0
    """The greatest seq of the job heard stored since the follower was woken last (0: none)."""
    changed: bool = False
    """The job changed (it may have ended), or news may have been missed: look at it again."""


Item: TypeAlias = v1.LogLines | v1.JobState | Wake

EVERY_SEQ = 2**63 - 1
"""A wake's ``stored`` when any line may have gone unheard: the follower reads all storage holds."""

PUBLISHED_JOBS = 10_000
"""Jobs whose greatest published seq the hub keeps (a job that ends is forgotten at once)."""


@dataclass
class Budget:
    """Bytes queued for all the followers of a hub, and how many they may be."""

    limit: int
    used: int = 0


@dataclass(eq=False)
class Subscription:
    job_id: str
    limit: int
    """Bytes this follower's queue may hold."""
    total: Budget
    queue: asyncio.Queue[tuple[Item | None, int]] = field(default_factory=asyncio.Queue)
    """Items with the bytes each is charged; None (charged 0) wakes a reader after an overflow."""
    queued_bytes: int = 0
    overflowed: bool = False
    published_upto: int | None = None
    """At the last ``resync``, the greatest seq of the job this hub had published (None: none):
    every line up to it is stored, every line published since is queued."""
    first_queued: int | None = None
    """The first seq of the first lines queued since the last ``resync`` (None: none yet)."""
    waking: Wake | None = None
    """The wake queued and not yet taken, to which news is added (None: none)."""

    def offer(self, item: Item, size: int = 0) -> bool:
        """Queue ``item`` of ``size`` bytes; False (and overflowed) if the follower is too far
        behind for it: over its own budget, or over the total while it has unread lines."""
        if self.queued_bytes and (
            self.queued_bytes + size > self.limit or self.total.used + size > self.total.limit
        ):
            self._drop()
            self.overflowed = True
            self.queue.put_nowait((None, 0))
            return False
        if self.first_queued is None and isinstance(item, v1.LogLines) and (seqs := seq_numbers(item)):
            self.first_queued = seqs[0]
        self.queue.put_nowait((item, size))
        self.queued_bytes += size
        self.total.used += size
        return True

    def wake(self, stored: int = 0, changed: bool = False) -> None:
        """Queue news for the follower (charged nothing: one at most is queued), or add it to
        the wake already queued."""
        if self.overflowed:
            return  # it reads storage and the job's state anyway
        if self.waking is None:
            self.waking = Wake()
            self.queue.put_nowait((self.waking, 0))
        self.waking.stored = max(self.waking.stored, stored)
        self.waking.changed |= changed

    async def get(self) -> Item | None:
        """The next item; None once the follower overflowed (it must read storage)."""
        item, size = await self.queue.get()
        self.queued_bytes -= size
        self.total.used -= size
        if item is self.waking:
            self.waking = None
        return item

    def resync(self, published_upto: int | None = None) -> None:
        """Forget the queue before the follower reads storage: whatever is published from
        now on is queued (or marks an overflow), whatever was published before is stored."""
        self._drop()
        self.overflowed = False
        self.published_upto = published_upto
        self.first_queued = None

    def caught_up(self, seq: int) -> bool:
        """True if a follower that has read storage up to ``seq`` may read the queue instead:
        it has read all the hub had published at the last ``resync``, and the queue, none of
        it dropped, goes on from there without a gap."""
        return (
            self.published_upto is not None
            and self.first_queued is not None
            and seq >= max(self.published_upto, self.first_queued - 1)
            and not self.overflowed
        )

    def _drop(self) -> None:
        while not self.queue.empty():
            self.queue.get_nowait()
        self.waking = None
        self.total.used -= self.queued_bytes
        self.queued_bytes = 0


class LogHub:
    def __init__(self, follower_bytes: int, total_bytes: int) -> None:
        self._subs: dict[str, set[Subscription]] = defaultdict(set)
        self.follower_bytes = follower_bytes
        self.budget = Budget(total_bytes)
        self.overflows = 0
        """Times a follower fell too far behind the live stream and went back to storage."""
        # Per job, the greatest seq published, until the job ends; see Subscription.caught_up.
        self._published: dict[str, int] = {}

    def subscribe(self, job_id: str) -> Subscription:
        sub = Subscription(job_id, self.follower_bytes, self.budget)
        self._subs[job_id].add(sub)
        return sub

    def resync(self, sub: Subscription) -> None:
        """``sub.resync``, noting the greatest seq of its job published so far."""
        sub.resync(self._published.get(sub.job_id))

    def unsubscribe(self, sub: Subscription) -> None:
        """Stop feeding ``sub`` and release what its queue held."""
        sub.resync()
        subs = self._subs.get(sub.job_id)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._subs[sub.job_id]

    def publish(self, job_id: str, lines: v1.LogLines) -> None:
        """Hand stored lines to the job's followers."""
        # Charged to each follower that queues it (the batch itself is shared): an upper bound.
        size = size_of(lines)
        if seqs := seq_numbers(lines):
            if job_id not in self._published and len(self._published) >= PUBLISHED_JOBS:
                # The oldest goes: its followers only read storage a little longer.
                del self._published[next(iter(self._published))]
            self._published[job_id] = max(self._published.get(job_id, 0), *seqs)
        for sub in self._subs.get(job_id, ()):
            if not sub.overflowed and not sub.offer(lines, size):
                self.overflows += 1

    def stored(self, job_id: str, seq: int) -> None:
        """Lines of the job up to ``seq`` were stored by another daemon: wake its followers to
        read them, unless this hub published them already (a worker that moved and sent them
        to both)."""
        if seq > self._published.get(job_id, 0):
            for sub in self._subs.get(job_id, ()):
                sub.wake(stored=seq)

    def changed(self, job_id: str) -> None:
        """The job changed (on this daemon or another): its followers look at its state."""
        for sub in self._subs.get(job_id, ()):
            sub.wake(changed=True)

    def missed(self) -> None:
        """News may have been lost (not listening for a while): every follower reads storage
        and looks at its job again."""
        for subs in self._subs.values():
            for sub in subs:
                sub.wake(stored=EVERY_SEQ, changed=True)

    def finish(self, job_id: str, state: v1.JobState) -> None:
        """Tell the job's followers it reached a terminal state (after its last line)."""
        self._published.pop(job_id, None)
        for sub in self._subs.get(job_id, ()):
            sub.offer(state)
