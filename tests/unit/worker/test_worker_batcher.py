"""Line batching: splitting, numbering across streams, and when batches go out."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from hodei_api import v1
from hodei_api.loglines import Line, unpack
from hodei_worker.batcher import BatchLimits, LineBatcher

OUT, ERR, SYSTEM = v1.LogStream.STDOUT, v1.LogStream.STDERR, v1.LogStream.SYSTEM
Feed = Sequence[tuple[v1.LogStream, bytes]]


class Sent(list[v1.LogBatch]):
    """What a batcher emitted, as batches."""

    def emit(self, message: v1.WorkerMessage) -> None:
        assert message.log_batch is not None
        self.append(message.log_batch)

    @property
    def lines(self) -> list[Line]:
        return [line for batch in self for line in unpack(batch.lines or v1.LogLines())]

    def rows(self) -> list[list[tuple[int, bytes]]]:
        """Each batch's lines as (seq, data)."""
        return [[(line.seq, line.data) for line in unpack(batch.lines or v1.LogLines())] for batch in self]

    def sizes(self) -> list[int]:
        """How many lines each batch held."""
        return [len(unpack(batch.lines or v1.LogLines())) for batch in self]


def feed_all(feed: Feed, limits: BatchLimits, first_seq: int = 1) -> Sent:
    """Feed, end both streams, flush; runs in its own loop so sync tests can use it."""

    async def run() -> Sent:
        sent = Sent()
        batcher = LineBatcher("job-1", 2, first_seq, sent.emit, limits)
        for stream, data in feed:
            batcher.feed(stream, data)
        batcher.end(OUT)
        batcher.end(ERR)
        batcher.flush()
        return sent

    return asyncio.run(run())


def cut(size: int, first: int, last: int) -> tuple[v1.LogStream, bytes]:
    """The system line that marks a stdout line cut at 4 bytes."""
    text = f"stdout line of {size} bytes is over the 4-byte line limit: split into lines {first}-{last}\n"
    return SYSTEM, text.encode()


SPLIT_CASES = [
    ("one line", [(OUT, b"a\n")], [(OUT, b"a\n")]),
    ("two lines in one read", [(OUT, b"a\nbb\n")], [(OUT, b"a\n"), (OUT, b"bb\n")]),
    ("a line across reads", [(OUT, b"ab"), (OUT, b"c"), (OUT, b"\n")], [(OUT, b"abc\n")]),
    ("unterminated tail", [(OUT, b"a\nb")], [(OUT, b"a\n"), (OUT, b"b")]),
    ("empty lines", [(OUT, b"\n\n")], [(OUT, b"\n"), (OUT, b"\n")]),
    ("carriage returns kept", [(OUT, b"a\r\n")], [(OUT, b"a\r\n")]),
    ("no output", [], []),
    ("exactly max_line with newline", [(OUT, b"abc\n")], [(OUT, b"abc\n")]),
    ("one byte over max_line", [(OUT, b"abcd\n")], [(OUT, b"abcd"), (OUT, b"\n"), cut(5, 1, 2)]),
    (
        "long line in pieces",
        [(OUT, b"abcdefghij\n")],
        [(OUT, b"abcd"), (OUT, b"efgh"), (OUT, b"ij\n"), cut(11, 1, 3)],
    ),
    (
        "long tail without newline",
        [(OUT, b"abcdefghij")],
        [(OUT, b"abcd"), (OUT, b"efgh"), (OUT, b"ij"), cut(10, 1, 3)],
    ),
    ("tail cut at the limit", [(OUT, b"abcdefgh")], [(OUT, b"abcd"), (OUT, b"efgh"), cut(8, 1, 2)]),
    (
        "long line across reads",
        [(OUT, b"abc"), (OUT, b"def"), (OUT, b"g\n")],
        [(OUT, b"abcd"), (OUT, b"efg\n"), cut(8, 1, 2)],
    ),
    (
        "lines of the other stream between the pieces",
        [(OUT, b"abcdef"), (ERR, b"e\n"), (OUT, b"\n")],
        [(OUT, b"abcd"), (ERR, b"e\n"), (OUT, b"ef\n"), cut(7, 1, 3)],
    ),
    (
        "streams keep their own partial lines",
        [(OUT, b"o1"), (ERR, b"e1\n"), (OUT, b"\n"), (ERR, b"e2")],
        [(ERR, b"e1\n"), (OUT, b"o1\n"), (ERR, b"e2")],
    ),
    ("binary bytes kept", [(OUT, b"\xff\x00\n")], [(OUT, b"\xff\x00\n")]),
]


@pytest.mark.parametrize(("feed", "expected"), [c[1:] for c in SPLIT_CASES], ids=[c[0] for c in SPLIT_CASES])
def test_splits_into_lines(feed: Feed, expected: list[tuple[v1.LogStream, bytes]]) -> None:
    sent = feed_all(feed, BatchLimits(max_line=4))
    assert [(line.stream, line.data) for line in sent.lines] == expected
    assert [line.seq for line in sent.lines] == list(range(1, len(expected) + 1))


@given(
    data=st.binary(max_size=200).map(lambda b: b.replace(b"x", b"\n")),
    cuts=st.lists(st.integers(0, 200), max_size=10),
)
def test_the_way_output_is_read_does_not_change_the_lines(data: bytes, cuts: list[int]) -> None:
    bounds = [0, *sorted(c for c in cuts if c <= len(data)), len(data)]
    chunks = [(OUT, data[a:b]) for a, b in itertools.pairwise(bounds) if a < b]
    whole = feed_all([(OUT, data)] if data else [], BatchLimits(max_line=8))
    pieces = feed_all(chunks, BatchLimits(max_line=8))
    assert [line.data for line in pieces.lines] == [line.data for line in whole.lines]
    output = [line.data for line in whole.lines if line.stream is OUT]
    assert b"".join(output) == data
    assert all(len(line) <= 8 for line in output)


@given(
    # Mostly short lines, so that one read holds many; now and then one over max_line.
    data=st.lists(st.sampled_from([b"a", b"\xff", b"\n", b"\n", b"0123456789"]), max_size=150).map(b"".join),
    cuts=st.lists(st.integers(0, 300), max_size=10),
    max_lines=st.integers(1, 6),
    max_bytes=st.integers(1, 40),
)
@example(data=b"a\n" * 10, cuts=[], max_lines=6, max_bytes=4)  # a batch full to the byte
def test_batches_obey_the_limits_and_do_not_depend_on_how_output_is_read(
    data: bytes, cuts: list[int], max_lines: int, max_bytes: int
) -> None:
    # Lines read in one block are batched in bulk, lines read one by one singly; both must cut
    # the batches at the same lines, each the first line that fills a batch by count or bytes.
    limits = BatchLimits(max_lines=max_lines, max_bytes=max_bytes, max_line=8)
    bounds = [0, *sorted(c for c in cuts if c <= len(data)), len(data)]
    chunks = [(OUT, data[a:b]) for a, b in itertools.pairwise(bounds) if a < b]
    whole = feed_all([(OUT, data)] if data else [], limits)
    pieces = feed_all(chunks, limits)
    bytewise = feed_all([(OUT, data[i : i + 1]) for i in range(len(data))], limits)
    batches = whole.rows()
    assert pieces.rows() == batches
    assert bytewise.rows() == batches
    for batch in batches[:-1]:
        # Full: by count, or by bytes with its last line and not without it.
        sizes = [len(line) for _, line in batch]
        assert len(batch) == max_lines or sum(sizes) >= max_bytes > sum(sizes[:-1])
    for batch in batches:
        assert len(batch) <= max_lines
        assert sum(len(line) for _, line in batch[:-1]) < max_bytes


async def test_one_counter_numbers_both_streams_in_reading_order() -> None:
    sent = Sent()
    batcher = LineBatcher("job-1", 3, 41, sent.emit)
    batcher.feed(OUT, b"o1\no2\n")
    batcher.feed(ERR, b"e1\n")
    batcher.feed(OUT, b"o3\n")
    batcher.system("marker")
    batcher.feed(ERR, b"e2\n")
    assert batcher.last_seq == 46
    batcher.flush()
    assert [(line.seq, line.stream, line.data) for line in sent.lines] == [
        (41, OUT, b"o1\n"),
        (42, OUT, b"o2\n"),
        (43, ERR, b"e1\n"),
        (44, OUT, b"o3\n"),
        (45, SYSTEM, b"marker\n"),
        (46, ERR, b"e2\n"),
    ]
    assert {(batch.job_id, batch.attempt) for batch in sent} == {("job-1", 3)}
    assert {line.attempt for line in sent.lines} == {3}
    assert all(abs(line.ts - datetime.now(UTC)) < timedelta(minutes=1) for line in sent.lines)


async def past_the_delay(limits: BatchLimits) -> None:
    """Return once a batch timer set before the call has fired: asyncio runs timers in the
    order they fall due, and this one falls due no earlier, so no margin is needed."""
    await asyncio.sleep(limits.max_delay)


FLUSH_CASES = [
    # (name, limits, lines fed at once, batch sizes sent at once, sizes after the timer)
    ("below every limit waits for the timer", BatchLimits(), 5, [], [5]),
    ("line count", BatchLimits(max_lines=3), 7, [3, 3], [3, 3, 1]),
    ("exact line count leaves nothing", BatchLimits(max_lines=3), 6, [3, 3], [3, 3]),
    ("bytes", BatchLimits(max_bytes=10), 7, [3, 3], [3, 3, 1]),  # 4-byte lines: 12 >= 10
    ("whichever comes first", BatchLimits(max_lines=2, max_bytes=10), 5, [2, 2], [2, 2, 1]),
]


@pytest.mark.parametrize(
    ("limits", "count", "at_once", "later"), [c[1:] for c in FLUSH_CASES], ids=[c[0] for c in FLUSH_CASES]
)
async def test_when_batches_go_out(
    limits: BatchLimits, count: int, at_once: list[int], later: list[int]
) -> None:
    limits = BatchLimits(limits.max_lines, limits.max_bytes, max_delay=0.02)
    sent = Sent()
    batcher = LineBatcher("job-1", 1, 1, sent.emit, limits)
    batcher.feed(OUT, b"".join(b"%03d\n" % i for i in range(count)))
    assert sent.sizes() == at_once
    await past_the_delay(limits)
    assert sent.sizes() == later
    assert [line.seq for line in sent.lines] == list(range(1, count + 1))


async def test_a_lone_line_goes_out_after_the_delay_counted_from_the_first_line() -> None:
    sent = Sent()
    batcher = LineBatcher("job-1", 1, 1, sent.emit, BatchLimits(max_delay=0.1))
    started = time.monotonic()
    batcher.feed(OUT, b"first\n")
    await asyncio.sleep(0.05)
    batcher.feed(OUT, b"second\n")  # does not restart the clock
    while not sent:
        await asyncio.sleep(0.005)
    elapsed = time.monotonic() - started
    assert 0.09 <= elapsed < 0.5
    assert [line.data for line in sent.lines] == [b"first\n", b"second\n"]


async def test_flush_sends_at_once_and_stops_the_timer() -> None:
    sent = Sent()
    limits = BatchLimits(max_delay=0.02)
    batcher = LineBatcher("job-1", 1, 1, sent.emit, limits)
    batcher.feed(OUT, b"a\n")
    batcher.flush()
    assert len(sent) == 1
    batcher.flush()
    await past_the_delay(limits)
    assert len(sent) == 1


async def test_a_partial_line_is_not_sent_before_its_stream_ends() -> None:
    sent = Sent()
    limits = BatchLimits(max_delay=0.01)
    batcher = LineBatcher("job-1", 1, 1, sent.emit, limits)
    batcher.feed(OUT, b"no newline yet")
    await past_the_delay(limits)
    assert sent == []
    assert batcher.last_seq == 0
    batcher.end(OUT)
    batcher.flush()
    assert [line.data for line in sent.lines] == [b"no newline yet"]
