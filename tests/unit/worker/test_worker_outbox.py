"""The outbox: order kept, output bounded, and a gap marker where lines were dropped."""

from __future__ import annotations

import asyncio

from hodei_api import v1
from hodei_api.loglines import Line, pack, unpack
from hodei_worker.outbox import Outbox

SYSTEM = v1.LogStream.SYSTEM


def batch(job_id: str, first: int, count: int, size: int = 10, attempt: int = 1) -> v1.WorkerMessage:
    lines = [
        Line(seq, v1.LogStream.STDOUT, b"x" * (size - 1) + b"\n", 0, attempt)
        for seq in range(first, first + count)
    ]
    return v1.WorkerMessage(log_batch=v1.LogBatch(job_id=job_id, attempt=attempt, lines=pack(lines)))


def accepted(job_id: str, attempt: int = 1) -> v1.WorkerMessage:
    return v1.WorkerMessage(accepted=v1.Accepted(job_id=job_id, attempt=attempt, pid=1))


def finished(job_id: str, last_seq: int, attempt: int = 1) -> v1.WorkerMessage:
    return v1.WorkerMessage(finished=v1.Finished(job_id=job_id, attempt=attempt, last_seq=last_seq))


def drain(outbox: Outbox, ack: bool = True) -> list[v1.WorkerMessage]:
    """Take everything the outbox hands out on a new stream; with ``ack`` the daemon keeps up,
    acknowledging each message as it comes."""
    taken = []
    while (message := outbox.take()) is not None:
        taken.append(message)
        if ack:
            outbox.acknowledge(len(taken))
    return taken


def lines(message: v1.WorkerMessage) -> list[Line]:
    assert message.log_batch is not None and message.log_batch.lines is not None
    return unpack(message.log_batch.lines)


def seqs(message: v1.WorkerMessage) -> list[int]:
    return [line.seq for line in lines(message)]


async def test_messages_come_out_in_order() -> None:
    outbox = Outbox(limit=1000)
    messages = [accepted("a"), batch("a", 1, 2), accepted("b"), batch("b", 1, 1), finished("a", 2)]
    for message in messages:
        outbox.put(message)
    assert len(outbox) == 5
    assert drain(outbox) == messages
    assert outbox.take() is None


async def test_what_is_not_acknowledged_goes_out_first_on_the_next_stream() -> None:
    outbox = Outbox(limit=1000)
    messages = [accepted("a"), batch("a", 1, 2), batch("a", 3, 1), finished("a", 3)]
    for message in messages[:3]:
        outbox.put(message)
    assert drain(outbox, ack=False) == messages[:3]
    outbox.acknowledge(1)  # the daemon stored Accepted; the batches were on the wire
    outbox.put(messages[3])
    assert len(outbox) == 3
    assert [f.job_id for f in outbox.pending_finished()] == ["a"]
    outbox.restart()
    assert drain(outbox, ack=False) == messages[1:]
    outbox.acknowledge(2)
    outbox.acknowledge(1)  # an older acknowledgement changes nothing
    assert len(outbox) == 1
    outbox.acknowledge(3)
    assert len(outbox) == 0
    assert outbox.pending_finished() == []
    outbox.restart()
    assert outbox.take() is None


async def test_while_half_the_limit_is_unacknowledged_nothing_more_goes_out() -> None:
    outbox = Outbox(limit=80)  # 8 lines of 10 bytes; 4 may be in flight
    outbox.put(batch("a", 1, 4))
    outbox.put(batch("a", 5, 2))
    assert seqs(drain(outbox, ack=False)[0]) == [1, 2, 3, 4]  # drain stops: 40 bytes unacknowledged
    outbox.put(batch("a", 7, 4))  # 100 bytes kept: the oldest batch not sent goes
    assert outbox.dropped_lines == 2
    outbox.acknowledge(1)
    taken = drain(outbox, ack=False)
    assert [line.seq for line in lines(taken[0])] == [6, 7, 8, 9, 10]  # marker for 5-6 first
    assert lines(taken[0])[0].stream == SYSTEM


async def test_acknowledgements_count_per_stream() -> None:
    outbox = Outbox(limit=1000)
    outbox.put(accepted("a"))
    outbox.put(accepted("b"))
    drain(outbox, ack=False)
    outbox.acknowledge(1)
    outbox.restart()  # the count starts again on the new stream
    outbox.put(accepted("c"))
    assert drain(outbox, ack=False) == [accepted("b"), accepted("c")]
    outbox.acknowledge(1)
    assert len(outbox) == 1
    outbox.restart()
    assert drain(outbox, ack=False) == [accepted("c")]


async def test_over_the_limit_the_oldest_lines_go_and_a_marker_says_how_many() -> None:
    outbox = Outbox(limit=100)  # 10 lines of 10 bytes
    outbox.put(accepted("a"))
    for first in (1, 5, 9):
        outbox.put(batch("a", first, 4))  # 12 lines: the first batch must go
    assert outbox.dropped_lines == 4
    taken = drain(outbox)
    assert taken[0] == accepted("a")
    assert seqs(taken[1]) == [4, 5, 6, 7, 8]
    marker = lines(taken[1])[0]
    assert marker.stream == SYSTEM
    assert marker.data.startswith(b"hodei-worker: 4 lines of output dropped here")
    assert seqs(taken[2]) == [9, 10, 11, 12]


async def test_drops_add_up_into_one_marker() -> None:
    outbox = Outbox(limit=40)
    for first in range(1, 30, 4):
        outbox.put(batch("a", first, 4))  # 8 batches of 40 bytes: only the newest fits
    taken = drain(outbox)
    assert len(taken) == 1
    assert seqs(taken[0]) == [28, 29, 30, 31, 32]
    assert b" 28 lines of output dropped" in lines(taken[0])[0].data


async def test_the_marker_goes_before_finished_when_no_batch_is_left() -> None:
    outbox = Outbox(limit=40)
    outbox.put(batch("a", 1, 4))
    outbox.put(batch("b", 1, 4))  # pushes out a's only batch
    outbox.put(finished("a", last_seq=4))
    taken = drain(outbox)
    assert [m.log_batch.job_id if m.log_batch else "finished" for m in taken] == ["b", "a", "finished"]
    [marker] = lines(taken[1])
    assert (marker.seq, marker.stream, marker.attempt) == (4, SYSTEM, 1)
    assert taken[2] == finished("a", last_seq=4)


async def test_a_message_sent_but_not_acknowledged_is_never_dropped() -> None:
    outbox = Outbox(limit=40)
    outbox.put(batch("a", 1, 4))
    assert outbox.take() is not None
    outbox.restart()
    outbox.put(batch("a", 5, 4))  # over the limit: the newer batch goes, not the one in flight
    outbox.put(finished("a", last_seq=8))
    taken = drain(outbox)
    assert seqs(taken[0]) == [1, 2, 3, 4]
    assert seqs(taken[1]) == [8]  # the marker for lines 5 to 8
    assert taken[2] == finished("a", last_seq=8)


async def test_other_messages_are_never_dropped() -> None:
    outbox = Outbox(limit=10)
    for job in "abc":
        outbox.put(accepted(job))
        outbox.put(batch(job, 1, 5))
        outbox.put(finished(job, last_seq=5))
    kinds = [next(k for k in ("accepted", "log_batch", "finished") if getattr(m, k)) for m in drain(outbox)]
    assert kinds.count("accepted") == 3
    assert kinds.count("finished") == 3


async def test_discard_forgets_one_attempt() -> None:
    outbox = Outbox(limit=40)
    outbox.put(accepted("a"))
    outbox.put(batch("a", 1, 4))
    outbox.put(batch("b", 1, 4))  # drops a's batch, leaving a gap for a
    outbox.put(finished("a", last_seq=4))
    outbox.discard(("a", 1))
    assert [m.log_batch.job_id for m in drain(outbox) if m.log_batch] == ["b"]


async def test_pending_finished_lists_attempts_the_daemon_has_not_heard_end() -> None:
    outbox = Outbox(limit=1000)
    outbox.put(batch("a", 1, 2))
    outbox.put(finished("a", last_seq=2))
    outbox.put(accepted("b"))
    assert [(f.job_id, f.last_seq) for f in outbox.pending_finished()] == [("a", 2)]


async def test_ready_wakes_on_put_and_on_poke() -> None:
    outbox = Outbox(limit=1000)
    waiter = asyncio.create_task(outbox.ready())
    await asyncio.sleep(0.01)
    assert not waiter.done()
    outbox.put(accepted("a"))
    await asyncio.wait_for(waiter, 1)
    drain(outbox)
    waiter = asyncio.create_task(outbox.ready())
    await asyncio.sleep(0.01)
    assert not waiter.done()
    outbox.poke()
    await asyncio.wait_for(waiter, 1)
