"""The log hub's byte budgets, as a table: what each follower's queue takes, when it
overflows, and what is released."""

from __future__ import annotations

import pytest

from hodei_api import v1
from hodei_api.loglines import Line, pack, size_of
from hodeid.control.loghub import LogHub


def batch(seq: int, size: int) -> v1.LogLines:
    return pack([Line(seq, v1.LogStream.STDOUT, b"x" * size, 0, 1)])


@pytest.mark.parametrize(
    ("follower", "total", "sizes", "overflowed", "queued"),
    [
        # Under its own budget: everything queues.
        (1000, 10_000, [100, 100, 100], False, 3),
        # Its own budget: the batch that would go over drops the queue.
        (300, 10_000, [100, 100, 100], True, 0),
        # A batch bigger than the budget still goes to a follower that has read everything.
        (300, 10_000, [5000], False, 1),
        # ... but not to one with unread lines.
        (300, 10_000, [100, 5000], True, 0),
        # The total, with a single follower: the same rule.
        (10_000, 300, [100, 100, 100], True, 0),
    ],
)
def test_a_follower_queue_is_bounded_in_bytes(
    follower: int, total: int, sizes: list[int], overflowed: bool, queued: int
) -> None:
    hub = LogHub(follower, total)
    sub = hub.subscribe("j")
    for seq, size in enumerate(sizes, 1):
        hub.publish("j", batch(seq, size))
    assert sub.overflowed is overflowed
    assert hub.overflows == int(overflowed)
    assert sub.queue.qsize() == queued + int(overflowed)  # the wake-up after an overflow
    assert hub.budget.used == sub.queued_bytes == sum(size_of(batch(1, s)) for s in sizes[:queued])


async def test_what_a_follower_reads_or_drops_is_released() -> None:
    hub = LogHub(10_000, 10_000)
    reader, leaver = hub.subscribe("j"), hub.subscribe("j")
    for seq in range(1, 4):
        hub.publish("j", batch(seq, 100))
    assert hub.budget.used == 2 * 3 * size_of(batch(1, 100))
    for _ in range(3):
        await reader.get()
    hub.unsubscribe(leaver)
    assert hub.budget.used == 0


async def test_an_overflowed_follower_is_woken_to_read_storage() -> None:
    hub = LogHub(300, 10_000)
    sub = hub.subscribe("j")
    for seq in range(1, 5):
        hub.publish("j", batch(seq, 100))
    assert await sub.get() is None
    sub.resync()
    hub.publish("j", batch(5, 100))
    assert not sub.overflowed and sub.queued_bytes == size_of(batch(5, 100))
