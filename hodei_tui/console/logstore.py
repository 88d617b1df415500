"""A job's log held compactly: one bytearray for every line's bytes and a few typed arrays
(offsets, seqs, streams, timestamps), about 25 bytes per line besides the text itself. A
million lines cost tens of megabytes and no Python object per line; a line becomes a string
only when it is on screen."""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from enum import Enum

from hodei_api import v1
from hodei_api.loglines import Line

STDOUT, STDERR, SYSTEM = (int(s) for s in (v1.LogStream.STDOUT, v1.LogStream.STDERR, v1.LogStream.SYSTEM))


class Streams(Enum):
    """Which lines the log pane shows (hodei's own SYSTEM lines are always shown)."""

    BOTH = "both"
    STDOUT = "stdout"
    STDERR = "stderr"


class LogStore:
    """Lines in arrival order, deduplicated by sequence number."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.starts = array("Q")  # offset of each line in data; one more entry: the end
        self.starts.append(0)
        self.seqs = array("q")
        self.streams = bytearray()
        self.ts_micros = array("q")
        # Positions of the lines each filter shows, kept as lines arrive.
        self._only = {Streams.STDOUT: array("L"), Streams.STDERR: array("L")}

    def __len__(self) -> int:
        return len(self.seqs)

    @property
    def last_seq(self) -> int:
        """The highest sequence number held (0 for none): where a resumed stream starts."""
        return self.seqs[-1] if self.seqs else 0

    def extend(self, lines: Iterable[Line]) -> int:
        """Append the lines newer than those held; return how many were new."""
        last = self.last_seq
        fresh = [line for line in lines if line.seq > last]
        if not fresh:
            return 0
        first = len(self.seqs)
        end = len(self.data)
        for line in fresh:
            end += len(line.data)
            self.starts.append(end)
        self.data += b"".join(line.data for line in fresh)
        self.seqs.extend(line.seq for line in fresh)
        self.streams.extend(line.stream for line in fresh)
        self.ts_micros.extend(line.ts_micros for line in fresh)
        for offset, line in enumerate(fresh, first):
            if line.stream != STDERR:
                self._only[Streams.STDOUT].append(offset)
            if line.stream != STDOUT:
                self._only[Streams.STDERR].append(offset)
        return len(fresh)

    def add_system(self, text: str, ts_micros: int) -> None:
        """A note of the console's own (the job ended, the stream was resumed) as a line."""
        data = text.encode() + b"\n"
        offset = len(self.seqs)
        self.data += data
        self.starts.append(len(self.data))
        self.seqs.append(self.last_seq)  # shares the seq of the line before: resumes after it
        self.streams.append(SYSTEM)
        self.ts_micros.append(ts_micros)
        for positions in self._only.values():
            positions.append(offset)

    def view(self, streams: Streams) -> Sequence[int]:
        """The positions of the lines shown with ``streams``."""
        return range(len(self.seqs)) if streams is Streams.BOTH else self._only[streams]

    def text(self, index: int) -> str:
        """Line ``index`` without its newline, decoded leniently, tabs expanded."""
        raw = self.data[self.starts[index] : self.starts[index + 1]]
        return raw.rstrip(b"\r\n").decode(errors="replace").expandtabs(4)

    def find(self, needle: str, start: int, backwards: bool = False) -> int | None:
        """The first line from ``start`` on (or, backwards, the last before ``start``) whose
        bytes hold ``needle``, case-insensitively for ASCII when the needle is lower case."""
        if not needle or not self.seqs:
            return None
        pattern = needle.encode()
        if needle.islower():
            return self._scan_folded(pattern, start, backwards)
        if backwards:
            at = self.data.rfind(pattern, 0, self.starts[max(0, start)])
        else:
            at = self.data.find(pattern, self.starts[min(start, len(self.seqs))])
        return None if at < 0 else bisect_right(self.starts, at) - 1

    def _scan_folded(self, pattern: bytes, start: int, backwards: bool) -> int | None:
        # Case-folding a million lines at once would copy the whole log: look in blocks.
        block = 4096
        if backwards:
            high = max(0, start)
            while high > 0:
                low = max(0, high - block)
                chunk = bytes(self.data[self.starts[low] : self.starts[high]]).lower()
                if (at := chunk.rfind(pattern)) >= 0:
                    return bisect_right(self.starts, self.starts[low] + at) - 1
                high = low
            return None
        low = min(start, len(self.seqs))
        while low < len(self.seqs):
            high = min(len(self.seqs), low + block)
            chunk = bytes(self.data[self.starts[low] : self.starts[high]]).lower()
            if (at := chunk.find(pattern)) >= 0:
                return bisect_right(self.starts, self.starts[low] + at) - 1
            low = high
        return None
