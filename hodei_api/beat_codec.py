"""The codec of hodei's gRPC channels and server: protobuf, with a worker stream's heartbeats
written and read directly.

A connected worker and its daemon each send a heartbeat every few seconds, so with a thousand
idle workers the daemon writes and reads hundreds a second. betterproto2's generic serializer
spent about 0.1 ms on each (field defaults, warnings filters, Timestamp wrappers): two fifths
of an idle daemon's CPU. A heartbeat is six scalar fields, written here byte for byte as
betterproto2 writes them (proto3: fields in number order, defaults left out). A message that
is not a lone heartbeat, or bytes this reader does not expect (an unknown or repeated field,
a value out of its type's range), go through betterproto2 as before, which says what is
wrong with them.
"""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta
from typing import Any

from grpclib.encoding.proto import ProtoCodec

from hodei_api import v1

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
FIELDS = ("seq", "sent_at", "echo_seq", "echo_sent_at", "running", "echo_held_seconds")
"""The fields of ``Heartbeat`` written here, in number order: a field added in protos/ must be
added here too (tests/unit/api/test_beat_codec.py fails until it is)."""
# In both stream messages, the heartbeat is field 2 of the oneof.
BEAT_TAG = 0x12
_DOUBLE = struct.Struct("<d")
_INT64 = 1 << 64
_INT32_MIN, _INT32_MAX = -(1 << 31), (1 << 31) - 1
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1


class BeatCodec(ProtoCodec):
    """grpclib's protobuf codec, but for a ``WorkerMessage`` or ``DaemonMessage`` that holds
    only a heartbeat, which it writes and reads itself."""

    def encode(self, message: Any, message_type: Any) -> bytes:
        if message_type is v1.DaemonMessage or message_type is v1.WorkerMessage:
            beat = lone_beat(message)
            if beat is not None and (wire := beat_message_bytes(beat)) is not None:
                return wire
        return super().encode(message, message_type)

    def decode(self, data: bytes, message_type: Any) -> Any:
        if message_type is v1.DaemonMessage or message_type is v1.WorkerMessage:
            beat = parse_beat_message(data)
            if beat is not None:
                return message_type(heartbeat=beat)
        return super().decode(data, message_type)


def lone_beat(message: v1.DaemonMessage | v1.WorkerMessage) -> v1.Heartbeat | None:
    """The heartbeat ``message`` holds, if it holds nothing else."""
    beat = message.heartbeat
    if beat is None or type(beat) is not v1.Heartbeat:
        return None
    others: tuple[object, ...]
    if isinstance(message, v1.DaemonMessage):
        others = (message.welcome, message.run_job, message.cancel, message.drain, message.ack)
    else:
        others = (message.hello, message.accepted, message.rejected, message.log_batch, message.finished)
    return beat if others == (None,) * 5 else None


def beat_message_bytes(beat: v1.Heartbeat) -> bytes | None:
    """The stream message holding only ``beat``, as betterproto2 writes it; None for a value
    it would refuse (left to it, to say why)."""
    body = bytearray()
    if not _INT64_MIN <= beat.seq <= _INT64_MAX or not _INT64_MIN <= beat.echo_seq <= _INT64_MAX:
        return None
    if not _INT32_MIN <= beat.running <= _INT32_MAX:
        return None
    if beat.seq:
        body.append(0x08)
        _put_varint(body, beat.seq)
    if beat.sent_at is not None and not _put_timestamp(body, 0x12, beat.sent_at):
        return None
    if beat.echo_seq:
        body.append(0x18)
        _put_varint(body, beat.echo_seq)
    if beat.echo_sent_at is not None and not _put_timestamp(body, 0x22, beat.echo_sent_at):
        return None
    if beat.running:
        body.append(0x28)
        _put_varint(body, beat.running)
    if beat.echo_held_seconds != 0.0:
        body.append(0x31)
        body += _DOUBLE.pack(beat.echo_held_seconds)
    wire = bytearray((BEAT_TAG,))
    _put_varint(wire, len(body))
    wire += body
    return bytes(wire)


def parse_beat_message(data: bytes) -> v1.Heartbeat | None:
    """The heartbeat of a stream message that holds only one, each field at most once; None
    for anything else."""
    if not data or data[0] != BEAT_TAG:
        return None
    size, pos = _varint(data, 1)
    if pos < 0 or pos + size != len(data):
        return None
    fields: dict[int, Any] = {}
    while pos < len(data):
        tag = data[pos]
        pos += 1
        number = tag >> 3
        if number in fields:
            return None
        if tag in (0x08, 0x18, 0x28):
            value, pos = _varint(data, pos)
            if pos < 0:
                return None
            fields[number] = value
        elif tag in (0x12, 0x22):
            size, pos = _varint(data, pos)
            if pos < 0 or pos + size > len(data):
                return None
            stamp = _timestamp(data[pos : pos + size])
            if stamp is None:
                return None
            fields[number] = stamp
            pos += size
        elif tag == 0x31 and pos + 8 <= len(data):
            fields[number] = _DOUBLE.unpack_from(data, pos)[0]
            pos += 8
        else:
            return None
    running = _signed(fields.get(5, 0))
    if not _INT32_MIN <= running <= _INT32_MAX:
        return None
    return v1.Heartbeat(
        seq=_signed(fields.get(1, 0)),
        sent_at=fields.get(2),
        echo_seq=_signed(fields.get(3, 0)),
        echo_sent_at=fields.get(4),
        running=running,
        echo_held_seconds=fields.get(6, 0.0),
    )


def _put_varint(out: bytearray, value: int) -> None:
    if value < 0:
        value += _INT64
    while value > 0x7F:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    out.append(value)


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    """The varint at ``pos`` and the position after it; position -1 if there is none."""
    value = shift = 0
    while pos < len(data) and shift < 70:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return (value, pos) if value < _INT64 else (0, -1)
        shift += 7
    return 0, -1


def _signed(value: int) -> int:
    return value - _INT64 if value >> 63 else value


def _put_timestamp(out: bytearray, tag: int, at: datetime) -> bool:
    if at.tzinfo is None:
        return False
    offset = at - EPOCH
    seconds = offset.days * 86400 + offset.seconds
    body = bytearray()
    if seconds:
        body.append(0x08)
        _put_varint(body, seconds)
    if offset.microseconds:
        body.append(0x10)
        _put_varint(body, offset.microseconds * 1000)
    out.append(tag)
    out.append(len(body))
    out += body
    return True


def _timestamp(data: bytes) -> datetime | None:
    seconds = nanos = 0
    seen = 0
    pos = 0
    while pos < len(data):
        tag = data[pos]
        if tag not in (0x08, 0x10) or seen & tag:
            return None
        seen |= tag
        value, pos = _varint(data, pos + 1)
        if pos < 0:
            return None
        if tag == 0x08:
            seconds = _signed(value)
        else:
            nanos = _signed(value)
            if not _INT32_MIN <= nanos <= _INT32_MAX:
                return None
    try:
        return EPOCH + timedelta(seconds=seconds, microseconds=nanos // 1000)
    except OverflowError:
        return None
