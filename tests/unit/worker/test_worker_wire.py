"""The hand-written LogBatch encoding is byte for byte what betterproto2 writes."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hodei_api import v1
from hodei_worker.wire import encode

TS = datetime(2025, 6, 1, 12, 30, 15, 123456, tzinfo=UTC)


def batch_message(*lines: v1.LogLine, job_id: str = "job-1", attempt: int = 1) -> v1.WorkerMessage:
    return v1.WorkerMessage(log_batch=v1.LogBatch(job_id=job_id, attempt=attempt, lines=list(lines)))


def test_the_encoder_knows_every_field() -> None:
    """A field added to LogBatch or LogLine in the proto must be added to wire.py too."""
    assert [f.name for f in dataclasses.fields(v1.LogBatch)] == ["job_id", "attempt", "lines"]
    assert [f.name for f in dataclasses.fields(v1.LogLine)] == ["seq", "stream", "data", "ts", "attempt"]


@pytest.mark.parametrize(
    "message",
    [
        pytest.param(batch_message(), id="no lines"),
        pytest.param(batch_message(job_id="", attempt=0), id="all defaults"),
        pytest.param(
            batch_message(v1.LogLine(seq=1, stream=v1.LogStream.STDOUT, data=b"hi\n", ts=TS, attempt=1)),
            id="one line",
        ),
        pytest.param(batch_message(v1.LogLine(seq=0, data=b"")), id="empty line"),
        pytest.param(
            batch_message(v1.LogLine(seq=2**40, stream=v1.LogStream.SYSTEM, data=b"x" * 70_000, attempt=9)),
            id="big seq and long data",
        ),
        pytest.param(batch_message(v1.LogLine(seq=1, ts=datetime(1970, 1, 1, tzinfo=UTC))), id="epoch"),
        pytest.param(
            batch_message(v1.LogLine(seq=1, ts=datetime(1969, 12, 31, 23, 59, 59, 500000, tzinfo=UTC))),
            id="before the epoch",
        ),
        pytest.param(
            batch_message(v1.LogLine(seq=1, ts=datetime(2025, 1, 1, 2, tzinfo=timezone(timedelta(hours=2))))),
            id="other timezone",
        ),
        pytest.param(batch_message(job_id="jöb ✓", attempt=-1), id="unicode id, negative attempt"),
        pytest.param(
            batch_message(
                *[
                    v1.LogLine(seq=s, stream=v1.LogStream(1 + s % 2), data=b"%d\n" % s, ts=TS)
                    for s in range(300)
                ]
            ),
            id="many lines sharing a timestamp",
        ),
        pytest.param(v1.WorkerMessage(finished=v1.Finished(job_id="j", exit_code=0)), id="not a batch"),
    ],
)
def test_encodes_like_betterproto(message: v1.WorkerMessage) -> None:
    assert encode(message).SerializeToString() == bytes(message)


lines = st.builds(
    v1.LogLine,
    seq=st.integers(0, 2**63 - 1),
    stream=st.sampled_from(list(v1.LogStream)),
    data=st.binary(max_size=300),
    ts=st.none() | st.datetimes(timezones=st.just(UTC)),
    attempt=st.integers(-(2**31), 2**31 - 1),
)


@given(
    job_id=st.text(max_size=20), attempt=st.integers(-(2**31), 2**31 - 1), lines=st.lists(lines, max_size=20)
)
def test_any_batch_encodes_like_betterproto(job_id: str, attempt: int, lines: list[v1.LogLine]) -> None:
    message = batch_message(*lines, job_id=job_id, attempt=attempt)
    data = encode(message).SerializeToString()
    assert data == bytes(message)
    assert v1.WorkerMessage.parse(data) == message
