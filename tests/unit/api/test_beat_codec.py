"""The heartbeat codec writes a lone heartbeat byte for byte as betterproto2 does and reads
back what betterproto2 reads; everything else, and bytes it does not expect, it leaves to
betterproto2, errors included."""

from __future__ import annotations

import dataclasses
import math
import struct
from datetime import UTC, datetime, timedelta, timezone

import pytest
from grpclib.encoding.proto import ProtoCodec
from hypothesis import example, given
from hypothesis import strategies as st

from hodei_api import v1
from hodei_api.beat_codec import FIELDS, BeatCodec, beat_message_bytes, parse_beat_message

CODEC = BeatCodec()
PLAIN = ProtoCodec()
STREAMS = (v1.DaemonMessage, v1.WorkerMessage)
Stream = type[v1.DaemonMessage] | type[v1.WorkerMessage]

int64 = st.integers(-(1 << 63), (1 << 63) - 1)
int32 = st.integers(-(1 << 31), (1 << 31) - 1)
# hypothesis takes naive bounds and gives aware datetimes in every zone.
moments = st.datetimes(
    min_value=datetime(1, 1, 2),  # noqa: DTZ001
    max_value=datetime(9999, 12, 30),  # noqa: DTZ001
    timezones=st.timezones(),
) | st.just(datetime(1970, 1, 1, tzinfo=UTC))
BEFORE_EPOCH = datetime(1969, 12, 31, 23, 59, 59, 1, UTC)
beats = st.builds(
    v1.Heartbeat,
    seq=int64,
    sent_at=st.none() | moments,
    echo_seq=int64,
    echo_sent_at=st.none() | moments,
    running=int32,
    echo_held_seconds=st.floats(allow_nan=True, allow_infinity=True),
)


def read(codec: ProtoCodec, wire: bytes, kind: Stream) -> v1.DaemonMessage | v1.WorkerMessage:
    message = codec.decode(wire, kind)
    assert isinstance(message, kind)
    return message


def same(a: v1.Heartbeat, b: v1.Heartbeat) -> bool:
    held = (a.echo_held_seconds == b.echo_held_seconds) or (
        math.isnan(a.echo_held_seconds) and math.isnan(b.echo_held_seconds)
    )
    return held and (a.seq, a.sent_at, a.echo_seq, a.echo_sent_at, a.running) == (
        b.seq,
        b.sent_at,
        b.echo_seq,
        b.echo_sent_at,
        b.running,
    )


def test_the_codec_knows_every_field_of_the_heartbeat() -> None:
    assert tuple(f.name for f in dataclasses.fields(v1.Heartbeat)) == FIELDS


@given(beats, st.sampled_from(STREAMS))
@example(v1.Heartbeat(), v1.DaemonMessage)
@example(v1.Heartbeat(sent_at=datetime(1970, 1, 1, tzinfo=UTC), echo_held_seconds=-0.0), v1.WorkerMessage)
@example(v1.Heartbeat(seq=-1, running=-1, echo_sent_at=BEFORE_EPOCH), v1.WorkerMessage)
def test_a_lone_heartbeat_is_written_and_read_as_betterproto2_does(beat: v1.Heartbeat, kind: Stream) -> None:
    message = kind(heartbeat=beat)
    wire = PLAIN.encode(message, kind)
    assert CODEC.encode(message, kind) == wire
    assert beat_message_bytes(beat) == wire
    fast, plain = read(CODEC, wire, kind), read(PLAIN, wire, kind)
    assert type(fast) is kind and fast.heartbeat is not None and plain.heartbeat is not None
    assert same(fast.heartbeat, plain.heartbeat)


def test_a_beat_sent_between_hodei_versions_reads_the_same() -> None:
    # Written by hand, as another protobuf library would: fields out of order are fine.
    at = datetime(2026, 12, 1, 8, 0, 0, 250_000, UTC)
    # 1796112000 s and 250000000 ns, as varints
    stamp = bytes([0x08, 0x80, 0xFD, 0xB9, 0xD8, 0x06, 0x10, 0x80, 0xE5, 0x9A, 0x77])
    body = bytes([0x28, 0x03, 0x22, len(stamp)]) + stamp + bytes([0x08, 0x07])
    wire = bytes([0x12, len(body)]) + body
    beat = parse_beat_message(wire)
    assert beat is not None
    assert (beat.seq, beat.running, beat.echo_sent_at, beat.sent_at) == (7, 3, at, None)
    plain = read(PLAIN, wire, v1.WorkerMessage).heartbeat
    assert plain is not None and same(beat, plain)


ACK = v1.DaemonMessage(ack=v1.Acknowledged(applied=3))


@pytest.mark.parametrize(
    ("case", "wire"),
    [
        ("another message of the oneof", PLAIN.encode(ACK, v1.DaemonMessage)),
        ("empty", b""),
        ("a field the heartbeat does not have", bytes([0x12, 0x02, 0x38, 0x01])),
        ("a field given twice", bytes([0x12, 0x04, 0x08, 0x01, 0x08, 0x02])),
        ("a field of the wrong wire type", bytes([0x12, 0x02, 0x09, 0x01])),
        ("a heartbeat and more after it", bytes([0x12, 0x00, 0x1A, 0x00])),
        ("a length past the end", bytes([0x12, 0x05, 0x08, 0x01])),
        ("a varint cut short", bytes([0x12, 0x02, 0x08, 0x81])),
        ("a varint over 64 bits", bytes([0x12, 0x0B, 0x08]) + b"\xff" * 9 + b"\x7f"),
        ("a running count over int32", bytes([0x12, 0x06, 0x28, 0x80, 0x80, 0x80, 0x80, 0x08])),
        ("a timestamp with a field it does not have", bytes([0x12, 0x04, 0x12, 0x02, 0x18, 0x01])),
        ("a timestamp past year 9999", bytes([0x12, 0x09, 0x12, 0x07, 0x08]) + b"\x80" * 5 + b"\x20"),
        ("a double cut short", bytes([0x12, 0x05, 0x31]) + struct.pack("<d", 1.0)[:4]),
    ],
)
def test_anything_but_a_plain_heartbeat_is_left_to_betterproto2(case: str, wire: bytes) -> None:
    assert parse_beat_message(wire) is None, case
    try:
        expected: object = PLAIN.decode(wire, v1.DaemonMessage)
    except Exception as exc:  # the generated parser raises several kinds on bad bytes
        with pytest.raises(type(exc)):
            CODEC.decode(wire, v1.DaemonMessage)
        return
    assert bytes(CODEC.decode(wire, v1.DaemonMessage)) == bytes(expected)  # type: ignore[call-overload]


@pytest.mark.parametrize(
    "message",
    [
        ACK,
        v1.WorkerMessage(accepted=v1.Accepted(job_id="j", attempt=1, pid=5)),
        v1.DaemonMessage(heartbeat=v1.Heartbeat(seq=1), ack=v1.Acknowledged(applied=1)),
        v1.WorkerMessage(heartbeat=v1.Heartbeat(seq=1 << 63)),
        v1.WorkerMessage(heartbeat=v1.Heartbeat(running=1 << 31)),
    ],
)
def test_other_messages_and_out_of_range_values_are_written_by_betterproto2(
    message: v1.DaemonMessage | v1.WorkerMessage,
) -> None:
    kind = type(message)
    assert CODEC.encode(message, kind) == PLAIN.encode(message, kind)


def test_a_naive_time_is_refused_as_betterproto2_refuses_it() -> None:
    message = v1.WorkerMessage(heartbeat=v1.Heartbeat(sent_at=datetime(2026, 12, 1)))  # noqa: DTZ001
    with pytest.raises(ValueError, match="timezone aware"):
        PLAIN.encode(message, v1.WorkerMessage)
    with pytest.raises(ValueError, match="timezone aware"):
        CODEC.encode(message, v1.WorkerMessage)


def test_a_time_in_another_zone_is_the_same_instant() -> None:
    at = datetime(2026, 12, 1, 9, 30, tzinfo=timezone(timedelta(hours=1, minutes=30)))
    wire = CODEC.encode(v1.DaemonMessage(heartbeat=v1.Heartbeat(sent_at=at)), v1.DaemonMessage)
    beat = parse_beat_message(wire)
    assert beat is not None and beat.sent_at == at and beat.sent_at.tzinfo is UTC
