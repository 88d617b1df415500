"""One attempt's output: split into lines, numbered, and sent in batches."""

from __future__ import annotations

import asyncio
import struct
import time
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass
from itertools import accumulate

from hodei_api import v1

Emit = Callable[[v1.WorkerMessage], None]
"""Where finished messages go (the agent's outbox, or a list in a test); must not block."""


@dataclass(frozen=True)
class BatchLimits:
    """When a batch of log lines is sent, and how long one line may be."""

    max_lines: int = 10_000
    """Send the batch once it holds this many lines."""
    max_bytes: int = 256 * 1024
    """Send the batch once its lines hold this many bytes."""
    max_delay: float = 0.05
    """Send the batch at the latest this many seconds after its first line."""
    max_line: int = 64 * 1024
    """Longer lines are cut into pieces of this many bytes, each a line of its own, followed
    by a ``LOG_STREAM_SYSTEM`` line that says so (the job's own bytes stay as written)."""


class LineBatcher:
    """Turns one attempt's stdout and stderr into numbered lines sent as ``LogBatch`` es.

    One sequence counter serves both streams, so the numbers give the order in which the
    worker read the lines. Each line keeps its bytes as written, newline included; the
    unterminated tail of a stream becomes a line when the stream ends.
    """

    def __init__(
        self,
        job_id: str,
        attempt: int,
        first_seq: int,
        emit: Emit,
        limits: BatchLimits | None = None,
    ) -> None:
        self.job_id = job_id
        self.attempt = attempt
        self.last_seq = first_seq - 1
        """The sequence number of the latest line (``first_seq - 1`` before the first)."""
        self._emit = emit
        self._limits = limits or BatchLimits()
        self._loop = asyncio.get_running_loop()
        self._partial: dict[v1.LogStream, bytes] = {}
        # Per stream, the line being cut into pieces: (seq of its first and latest piece, bytes).
        self._cut: dict[v1.LogStream, tuple[int, int, int]] = {}
        # The batch being filled, in columns (its seqs run from _first_seq to last_seq): the
        # bytes of many lines are kept as the one block they were read in.
        self._first_seq = first_seq
        self._streams = bytearray()
        self._blocks: list[bytes] = []
        self._lengths: list[int] = []
        self._ts: list[int] = []
        self._bytes = 0
        self._timer: asyncio.TimerHandle | None = None

    def feed(self, stream: v1.LogStream, data: bytes) -> None:
        """Take bytes read from ``stream``: complete lines are numbered now, the rest waits."""
        # Lines read together share one timestamp: cheaper, and as true as any finer one.
        ts = _now_micros()
        if partial := self._partial.pop(stream, b""):
            data = partial + data
        start = 0
        if stream not in self._cut and (last := data.rfind(b"\n")) >= 0:
            start = self._add_block(stream, data[: last + 1], ts)
        self._feed_slowly(stream, data, start, ts)

    def _add_block(self, stream: v1.LogStream, block: bytes, ts_micros: int) -> int:
        """Add the whole lines of ``block`` (it ends with a newline) in bulk, cut into batches
        where ``_add`` would cut them; returns how much was taken: all of it, or nothing if a
        line is over ``max_line`` (then each line takes the slow path)."""
        lengths = [len(line) + 1 for line in block.split(b"\n")[:-1]]
        limits = self._limits
        if max(lengths) > limits.max_line:
            return 0
        ends = list(accumulate(lengths))
        first = 0  # the first line of block not yet added
        while first < len(lengths):
            taken = ends[first - 1] if first else 0
            # The first line at which the batch is full, by count or by bytes, as in _add.
            by_bytes = bisect_left(ends, limits.max_bytes - self._bytes + taken, lo=first)
            full = min(first + limits.max_lines - len(self._lengths) - 1, by_bytes)
            last = min(full, len(lengths) - 1)
            count = last + 1 - first
            self._streams += bytes((stream,)) * count
            self._blocks.append(block[taken : ends[last]])
            self._lengths += lengths[first : last + 1]
            self._ts += [ts_micros] * count
            self._bytes += ends[last] - taken
            self.last_seq += count
            first = last + 1
            self._sent_or_timed()
        return len(block)

    def _feed_slowly(self, stream: v1.LogStream, data: bytes, start: int, ts: int) -> None:
        """Line by line from ``start``: cut long lines into pieces, keep the unterminated tail."""
        max_line = self._limits.max_line
        while (newline := data.find(b"\n", start)) >= 0:
            end = newline + 1
            while end - start > max_line:
                self._piece(stream, data[start : start + max_line], ts)
                start += max_line
            self._add(stream, data[start:end], ts)
            self._mark_cut(stream, end - start, ts)
            start = end
        # A piece already a full line long goes out now rather than waiting for its newline.
        while len(data) - start >= max_line:
            self._piece(stream, data[start : start + max_line], ts)
            start += max_line
        if start < len(data):
            self._partial[stream] = data[start:]

    def end(self, stream: v1.LogStream) -> None:
        """``stream`` reached end of file: its unterminated last piece is a line too."""
        ts = _now_micros()
        if partial := self._partial.pop(stream, b""):
            self._add(stream, partial, ts)
        self._mark_cut(stream, len(partial), ts)

    def system(self, text: str) -> None:
        """Add a line written by hodei itself (``LOG_STREAM_SYSTEM``)."""
        self._add(v1.LogStream.SYSTEM, text.encode() + b"\n", _now_micros())

    def flush(self) -> None:
        """Send the lines collected so far, if any."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._lengths:
            return
        count = len(self._lengths)
        lines = v1.LogLines(
            seqs=struct.pack(f"<{count}q", *range(self._first_seq, self.last_seq + 1)),
            streams=bytes(self._streams),
            ts_unix_micros=struct.pack(f"<{count}q", *self._ts),
            lengths=struct.pack(f"<{count}I", *self._lengths),
            data=b"".join(self._blocks),
            attempts=struct.pack("<i", self.attempt) * count,
        )
        self._first_seq = self.last_seq + 1
        self._streams = bytearray()
        self._blocks = []
        self._lengths = []
        self._ts = []
        self._bytes = 0
        batch = v1.LogBatch(job_id=self.job_id, attempt=self.attempt, lines=lines)
        self._emit(v1.WorkerMessage(log_batch=batch))

    def _piece(self, stream: v1.LogStream, data: bytes, ts_micros: int) -> None:
        """A piece cut off a line longer than ``max_line``."""
        self._add(stream, data, ts_micros)
        first, _, size = self._cut.get(stream, (self.last_seq, 0, 0))
        self._cut[stream] = (first, self.last_seq, size + len(data))

    def _mark_cut(self, stream: v1.LogStream, last_piece: int, ts_micros: int) -> None:
        """The line of ``stream`` ended with a piece of ``last_piece`` bytes just added (0: none);
        if it was cut into pieces, say so in a system line."""
        if (cut := self._cut.pop(stream, None)) is None:
            return
        first, last, size = cut
        if last_piece:
            last = self.last_seq
        text = (
            f"{stream.name.lower()} line of {size + last_piece} bytes is over the "
            f"{self._limits.max_line}-byte line limit: split into lines {first}-{last}"
        )
        self._add(v1.LogStream.SYSTEM, text.encode() + b"\n", ts_micros)

    def _add(self, stream: v1.LogStream, data: bytes, ts_micros: int) -> None:
        self.last_seq += 1
        self._streams.append(stream)
        self._blocks.append(data)
        self._lengths.append(len(data))
        self._ts.append(ts_micros)
        self._bytes += len(data)
        self._sent_or_timed()

    def _sent_or_timed(self) -> None:
        """Send the batch if it is full, else make sure a timer will."""
        limits = self._limits
        if len(self._lengths) >= limits.max_lines or self._bytes >= limits.max_bytes:
            self.flush()
        elif self._timer is None:
            self._timer = self._loop.call_later(limits.max_delay, self.flush)


def _now_micros() -> int:
    return time.time_ns() // 1000
