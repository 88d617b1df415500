"""One attempt's output: split into lines, numbered, and sent in batches."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from hodei_api import v1
from hodei_api.loglines import Line, pack

Emit = Callable[[v1.WorkerMessage], None]
"""Where finished messages go (the agent's outbox, or a list in a test); must not block."""


@dataclass(frozen=True)
class BatchLimits:
    """When a batch of log lines is sent, and how long one line may be."""

    max_lines: int = 1000
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
        self._lines: list[Line] = []
        self._bytes = 0
        self._timer: asyncio.TimerHandle | None = None

    def feed(self, stream: v1.LogStream, data: bytes) -> None:
        """Take bytes read from ``stream``: complete lines are numbered now, the rest waits."""
        # Lines read together share one timestamp: cheaper, and as true as any finer one.
        ts = _now_micros()
        max_line = self._limits.max_line
        if partial := self._partial.pop(stream, b""):
            data = partial + data
        start = 0
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
        if not self._lines:
            return
        batch = v1.LogBatch(job_id=self.job_id, attempt=self.attempt, lines=pack(self._lines))
        self._lines = []
        self._bytes = 0
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
        self._lines.append(Line(self.last_seq, stream, data, ts_micros, self.attempt))
        self._bytes += len(data)
        limits = self._limits
        if len(self._lines) >= limits.max_lines or self._bytes >= limits.max_bytes:
            self.flush()
        elif self._timer is None:
            self._timer = self._loop.call_later(limits.max_delay, self.flush)


def _now_micros() -> int:
    return time.time_ns() // 1000
