"""The console's compact log store: dedupe by seq, stream views, lenient text, search."""

from __future__ import annotations

import pytest

from hodei_api import v1
from hodei_api.loglines import Line
from hodei_tui.console.logstore import LogStore, Streams

OUT, ERR = v1.LogStream.STDOUT, v1.LogStream.STDERR


def line(seq: int, text: str, stream: v1.LogStream = OUT) -> Line:
    return Line(seq, stream, text.encode(), 1_000_000 * seq, 1)


@pytest.fixture
def store() -> LogStore:
    s = LogStore()
    s.extend(
        [line(1, "alpha\n"), line(2, "Beta oops\n", ERR), line(3, "gamma\tx\r\n"), line(4, "no newline")]
    )
    return s


def test_lines_resume_by_seq_without_duplicates(store: LogStore) -> None:
    assert store.extend([line(3, "again\n"), line(4, "again\n"), line(5, "delta\n")]) == 1
    assert (len(store), store.last_seq) == (5, 5)
    assert [store.text(i) for i in range(5)] == ["alpha", "Beta oops", "gamma   x", "no newline", "delta"]


def test_views_by_stream_keep_system_lines(store: LogStore) -> None:
    store.add_system("── end ──", 0)
    assert list(store.view(Streams.BOTH)) == [0, 1, 2, 3, 4]
    assert list(store.view(Streams.STDOUT)) == [0, 2, 3, 4]
    assert list(store.view(Streams.STDERR)) == [1, 4]
    assert store.last_seq == 4, "a note of the console's own does not move the resume point"


def test_undecodable_bytes_are_shown_not_fatal() -> None:
    s = LogStore()
    s.extend([Line(1, OUT, b"\xff\xfe ok\n", 0, 1)])
    assert s.text(0) == "\ufffd\ufffd ok"


@pytest.mark.parametrize(
    ("needle", "start", "backwards", "found"),
    [
        ("oops", 0, False, 1),
        ("oops", 2, False, None),
        ("oops", 4, True, 1),
        ("beta", 0, False, 1),  # lower case: any case
        ("beta", 4, True, 1),
        ("Beta", 0, False, 1),
        ("BETA", 0, False, None),  # upper case in the needle: exact case
        ("newline", 0, False, 3),
        ("", 0, False, None),
    ],
)
def test_find(store: LogStore, needle: str, start: int, backwards: bool, found: int | None) -> None:
    assert store.find(needle, start, backwards) == found


def test_find_walks_blocks_of_a_large_log() -> None:
    s = LogStore()
    s.extend([line(n, f"line {n}\n") for n in range(1, 20_001)])
    s.extend([line(20_001, "Needle\n")])
    assert s.find("needle", 0) == 20_000
    assert s.find("needle", 20_001, backwards=True) == 20_000
    assert s.find("line 5\n", 0) == 4
