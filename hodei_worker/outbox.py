"""Messages for the daemon, kept in order across reconnects, with a bound on buffered output."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime

from hodei_api import v1
from hodei_api.loglines import Line, micros, pack, seq_numbers, unpack

logger = logging.getLogger(__name__)

Key = tuple[str, int]
"""``(job_id, attempt)``."""


@dataclass(slots=True)
class _Entry:
    message: v1.WorkerMessage
    key: Key | None
    size: int  # bytes of log line data; 0 for other messages
    droppable: bool = True


@dataclass(slots=True)
class _Gap:
    lines: int
    last_seq: int
    ts: datetime


class Outbox:
    """What the attempts have to tell the daemon, in the order they said it, kept until the
    daemon acknowledges it.

    ``Accepted``, ``LogBatch``, ``Finished`` and ``Rejected`` wait here while the stream is down
    and go out first after the next ``Welcome``. A message sent stays here, unacknowledged,
    until the daemon says it applied it (``acknowledge``); a stream that ends first loses
    nothing: ``restart`` puts the unacknowledged messages back in front, to be sent again on the
    next stream (the daemon stores each log seq once and settles each attempt once).

    Log line data kept, sent or not, is bounded by ``limit`` bytes: past it the oldest batches
    not yet sent are dropped, and the attempt's next batch (or its ``Finished``) is preceded by
    a ``LOG_STREAM_SYSTEM`` line saying how many lines are missing, numbered with the last
    missing line's seq. Other messages are small and never dropped. So that the bound holds
    while the daemon is slow to store, nothing more is handed out while half of it is sent and
    unacknowledged.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.dropped_lines = 0
        """Log lines dropped so far, all attempts together."""
        self._entries: deque[_Entry] = deque()
        self._unacked: deque[_Entry] = deque()
        self._acked = 0  # messages of the current stream the daemon acknowledged
        self._bytes = 0  # log data waiting to be sent
        self._unacked_bytes = 0  # log data sent and not acknowledged
        self._gaps: dict[Key, _Gap] = {}
        self._ready = asyncio.Event()

    def __len__(self) -> int:
        """Messages the daemon has not acknowledged, sent or not."""
        return len(self._entries) + len(self._unacked)

    def put(self, message: v1.WorkerMessage) -> None:
        """Queue ``message`` behind the others."""
        entry = _entry(message)
        self._entries.append(entry)
        self._bytes += entry.size
        while self._bytes + self._unacked_bytes > self.limit and self._drop_oldest_batch():
            pass
        self._ready.set()

    def take(self) -> v1.WorkerMessage | None:
        """The next message to send, or None if there is none (or too much is unacknowledged);
        it is kept as unacknowledged."""
        if not self._entries or self._unacked_bytes >= self.limit // 2:
            self._ready.clear()
            return None
        entry = self._entries[0]
        if entry.key is not None and (gap := self._gaps.get(entry.key)) is not None:
            if entry.message.finished is not None:
                # The marker must reach the daemon before the attempt's end; Finished waits.
                del self._gaps[entry.key]
                marker = _entry(_batch(entry.key, [_gap_line(entry.key, gap, self.limit)]))
                self._keep_unacked(marker)
                return marker.message
            batch = entry.message.log_batch
            if batch is not None and batch.lines is not None and _first_seq(batch.lines) > gap.last_seq:
                del self._gaps[entry.key]
                batch.lines = pack([_gap_line(entry.key, gap, self.limit), *unpack(batch.lines)])
        self._entries.popleft()
        self._bytes -= entry.size
        self._keep_unacked(entry)
        return entry.message

    def acknowledge(self, applied: int) -> None:
        """The daemon applied the first ``applied`` messages sent on this stream: forget them."""
        for _ in range(min(applied - self._acked, len(self._unacked))):
            self._unacked_bytes -= self._unacked.popleft().size
        self._acked = max(self._acked, applied)
        if self._entries:
            self._ready.set()

    def restart(self) -> None:
        """A new stream: what the daemon did not acknowledge on the last one goes out first.

        Those messages are never dropped for room: one may be stored already, and a gap marker
        numbered like a line the daemon has would be lost in its place.
        """
        for entry in reversed(self._unacked):
            entry.droppable = False
            self._entries.appendleft(entry)
            self._bytes += entry.size
        self._unacked.clear()
        self._unacked_bytes = 0
        self._acked = 0
        if self._entries:
            self._ready.set()

    def _keep_unacked(self, entry: _Entry) -> None:
        self._unacked.append(entry)
        self._unacked_bytes += entry.size

    def discard(self, key: Key) -> None:
        """Forget everything kept for the attempt ``key`` (the daemon gave it up). Called at
        ``Welcome``, before anything is sent on the new stream."""
        kept = [entry for entry in self._entries if entry.key != key]
        self._entries = deque(kept)
        self._bytes = sum(entry.size for entry in kept)
        self._gaps.pop(key, None)

    def pending_finished(self) -> list[v1.Finished]:
        """The ``Finished`` messages not acknowledged: attempts the daemon may not have seen end."""
        entries = [*self._unacked, *self._entries]
        return [e.message.finished for e in entries if e.message.finished is not None]

    def poke(self) -> None:
        """Wake ``wait`` so the sender looks at its state again."""
        self._ready.set()

    async def ready(self) -> None:
        """Return once there may be a message to take (or ``poke`` was called)."""
        await self._ready.wait()

    def _drop_oldest_batch(self) -> bool:
        # Only log batches have a size; a put-back message may be on the wire already.
        victim = next((i for i, e in enumerate(self._entries) if e.size and e.droppable), None)
        if victim is None:
            return False
        entry = self._entries[victim]
        del self._entries[victim]
        self._bytes -= entry.size
        batch = entry.message.log_batch
        assert entry.key is not None and batch is not None and batch.lines is not None
        seqs = seq_numbers(batch.lines)
        self.dropped_lines += len(seqs)
        now = datetime.now(UTC)
        if (gap := self._gaps.get(entry.key)) is None:
            logger.warning(
                "job %s attempt %d: output buffer full (%s); dropping its oldest lines",
                *entry.key,
                _size(self.limit),
            )
            self._gaps[entry.key] = _Gap(len(seqs), seqs[-1], now)
        else:
            gap.lines += len(seqs)
            gap.last_seq = seqs[-1]
            gap.ts = now
        return True


def _entry(message: v1.WorkerMessage) -> _Entry:
    if (batch := message.log_batch) is not None:
        size = len(batch.lines.data) if batch.lines is not None else 0
        return _Entry(message, (batch.job_id, batch.attempt), size)
    for part in (message.accepted, message.finished, message.rejected):
        if part is not None:
            return _Entry(message, (part.job_id, part.attempt), 0)
    return _Entry(message, None, 0)


def _first_seq(lines: v1.LogLines) -> int:
    seqs = seq_numbers(lines)
    return seqs[0] if seqs else 0


def _gap_line(key: Key, gap: _Gap, limit: int) -> Line:
    text = (
        f"hodei-worker: {gap.lines} lines of output dropped here: the worker's buffer"
        f" ({_size(limit)}) filled while the daemon was unreachable or slow\n"
    )
    return Line(gap.last_seq, v1.LogStream.SYSTEM, text.encode(), micros(gap.ts), key[1])


def _batch(key: Key, lines: list[Line]) -> v1.WorkerMessage:
    return v1.WorkerMessage(log_batch=v1.LogBatch(job_id=key[0], attempt=key[1], lines=pack(lines)))


def _size(limit: int) -> str:
    return f"{limit >> 20} MiB" if limit >= 2**20 else f"{limit} bytes"
