"""Log lines in columns: the wire layout, round trips, and every malformed batch refused in words."""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hodei_api import v1
from hodei_api.loglines import Line, after, columns, micros, pack, seq_numbers, unpack

OUT, ERR, SYSTEM = v1.LogStream.STDOUT, v1.LogStream.STDERR, v1.LogStream.SYSTEM
MIN_MICROS = micros(datetime.min.replace(tzinfo=UTC))
MAX_MICROS = micros(datetime.max.replace(tzinfo=UTC))

lines_strategy = st.lists(
    st.builds(
        Line,
        seq=st.integers(-(2**63), 2**63 - 1),
        stream=st.sampled_from([OUT, ERR, SYSTEM]),
        data=st.binary(max_size=40),
        ts_micros=st.integers(MIN_MICROS, MAX_MICROS),
        attempt=st.integers(-(2**31), 2**31 - 1),
    ),
    max_size=30,
)


@given(lines_strategy)
def test_lines_survive_packing_and_the_wire(lines: list[Line]) -> None:
    packed = pack(lines)
    assert unpack(packed) == lines
    assert unpack(v1.LogLines.parse(bytes(packed))) == lines
    assert seq_numbers(packed) == tuple(line.seq for line in lines)


def test_the_columns_are_little_endian_fixed_width() -> None:
    packed = pack([Line(1, OUT, b"hi\n", 2, 3), Line(-1, SYSTEM, b"", -2, 4)])
    assert packed == v1.LogLines(
        seqs=bytes.fromhex("0100000000000000ffffffffffffffff"),
        streams=b"\x01\x03",
        ts_unix_micros=bytes.fromhex("0200000000000000feffffffffffffff"),
        lengths=bytes.fromhex("0300000000000000"),
        data=b"hi\n",
        attempts=bytes.fromhex("0300000004000000"),
    )


def packed_field(number: int, payload: bytes) -> bytes:
    """A length-delimited field (short enough for one-byte tag and length)."""
    return bytes([number << 3 | 2, len(payload)]) + payload


def test_the_wire_is_that_of_packed_repeated_fixed_width_fields() -> None:
    """What lets a client elsewhere declare the columns as repeated sfixed64 and so on."""
    wire = bytes(pack([Line(7, ERR, b"x", 9, 1)]))
    assert wire == b"".join(
        [
            packed_field(1, struct.pack("<q", 7)),  # repeated sfixed64 seqs
            packed_field(2, b"\x02"),
            packed_field(3, struct.pack("<q", 9)),  # repeated sfixed64 ts_unix_micros
            packed_field(4, struct.pack("<I", 1)),  # repeated fixed32 lengths
            packed_field(5, b"x"),
            packed_field(6, struct.pack("<i", 1)),  # repeated sfixed32 attempts
        ]
    )


def test_no_lines() -> None:
    assert pack([]) == v1.LogLines()
    assert unpack(v1.LogLines()) == []
    assert seq_numbers(v1.LogLines()) == ()


GOOD = pack([Line(1, OUT, b"one\n", 10, 1), Line(2, ERR, b"two\n", 20, 1)])


def good(**columns: bytes) -> v1.LogLines:
    """GOOD with some columns replaced."""
    fields = {
        name: getattr(GOOD, name)
        for name in ("seqs", "streams", "ts_unix_micros", "lengths", "data", "attempts")
    }
    return v1.LogLines(**(fields | columns))


MALFORMED = [
    (
        "a stream missing",
        good(streams=b"\x01"),
        "the columns hold different numbers of lines"
        r" \(seqs 2, streams 1, ts_unix_micros 2, lengths 2, attempts 2\)",
    ),
    (
        "a seq cut short",
        good(seqs=GOOD.seqs[:-1]),
        r"the columns hold different numbers of lines \(seqs 1.875, streams 2,",
    ),
    ("an extra attempt", good(attempts=GOOD.attempts * 2), r"the columns .* \(seqs 2, .* attempts 4\)$"),
    (
        "a timestamp missing",
        good(ts_unix_micros=GOOD.ts_unix_micros[:8]),
        r"the columns .* ts_unix_micros 1,",
    ),
    ("data short", good(data=b"one\ntwo"), "the 2 lengths add up to 8 bytes but data holds 7"),
    ("data long", good(data=b"one\ntwo\n!"), "the 2 lengths add up to 8 bytes but data holds 9"),
    ("lengths without data", good(data=b""), "the 2 lengths add up to 8 bytes but data holds 0"),
    (
        "stream unspecified",
        good(streams=b"\x01\x00"),
        r"stream 0 is not STDOUT \(1\), STDERR \(2\) or SYSTEM \(3\)",
    ),
    ("stream unknown", good(streams=b"\x07\x01"), "stream 7 is not STDOUT"),
    (
        "timestamp past 9999",
        good(ts_unix_micros=struct.pack("<2q", 10, MAX_MICROS + 1)),
        f"timestamp {MAX_MICROS + 1} us is not in the years 1 to 9999",
    ),
    (
        "timestamp before year 1",
        good(ts_unix_micros=struct.pack("<2q", MIN_MICROS - 1, 10)),
        f"timestamp {MIN_MICROS - 1} us is not in the years 1 to 9999",
    ),
]


@pytest.mark.parametrize(("lines", "message"), [c[1:] for c in MALFORMED], ids=[c[0] for c in MALFORMED])
def test_malformed_lines_are_refused_in_words(lines: v1.LogLines, message: str) -> None:
    with pytest.raises(ValueError, match="^malformed log lines: " + message):
        unpack(lines)


def test_seq_numbers_refuses_a_partial_seq() -> None:
    with pytest.raises(ValueError, match=r"^malformed log lines: seqs holds 15 bytes, not a multiple of 8$"):
        seq_numbers(good(seqs=GOOD.seqs[:-1]))


def test_columns_must_agree() -> None:
    with pytest.raises(ValueError, match=r"^log line columns of different lengths: 2 seqs, 1 streams,"):
        columns([1, 2], [OUT], [b"a", b"b"], [0, 0], [1, 1])


def test_columns_is_pack_by_column() -> None:
    assert columns([1, 2], [OUT, ERR], [b"one\n", b"two\n"], [10, 20], [1, 1]) == GOOD


AFTER = [
    ("every line", [3, 4, 5], 2, [3, 4, 5]),
    ("at the seam", [3, 4, 5], 4, [5]),
    ("none", [3, 4, 5], 5, []),
    ("nothing to filter", [], 0, []),
    ("out of order", [5, 1, 6, 2], 2, [5, 6]),
]


@pytest.mark.parametrize(("seqs", "seq", "kept"), [c[1:] for c in AFTER], ids=[c[0] for c in AFTER])
def test_after(seqs: list[int], seq: int, kept: list[int]) -> None:
    lines = pack(Line(s, OUT, b"%d\n" % s, s * 10, 1) for s in seqs)
    assert unpack(after(lines, seq)) == [Line(s, OUT, b"%d\n" % s, s * 10, 1) for s in kept]


def test_after_returns_the_lines_themselves_when_all_are_newer() -> None:
    lines = pack([Line(3, OUT, b"x", 0, 1)])
    assert after(lines, 2) is lines


@pytest.mark.parametrize(
    ("ts", "expected"),
    [
        (datetime(1970, 1, 1, tzinfo=UTC), 0),
        (datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC), 1),
        (datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC), -1),
        (datetime(2025, 1, 1, 2, tzinfo=timezone(timedelta(hours=2))), 1_735_689_600_000_000),
        (datetime.max.replace(tzinfo=UTC), MAX_MICROS),
    ],
)
def test_timestamps_in_microseconds(ts: datetime, expected: int) -> None:
    assert micros(ts) == expected
    assert Line(1, OUT, b"", expected, 1).ts == ts
