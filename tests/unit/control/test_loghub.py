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


@pytest.mark.parametrize(
    ("published", "queued", "read_upto", "caught_up"),
    [
        # Storage read up to what was published before the resync; the queue goes on from there.
        ([10, 20], [21], 20, True),
        ([10, 20], [21], 19, False),
        # Nothing queued yet: the lines may come through another daemon; storage goes on.
        ([10, 20], [], 20, False),
        # Nothing published before: no telling what storage holds.
        ([], [21], 20, False),
        # The queue starts past what was published (lines stored elsewhere between): storage
        # is read up to the queue's first line.
        ([10, 20], [31], 20, False),
        ([10, 20], [31], 30, True),
        # A replay of old lines first in the queue: storage is still read up to what was published.
        ([10, 20], [5], 10, False),
    ],
)
def test_a_follower_goes_from_storage_to_its_queue_only_without_a_gap(
    published: list[int], queued: list[int], read_upto: int, caught_up: bool
) -> None:
    hub = LogHub(10_000, 10_000)
    sub = hub.subscribe("job")
    for seq in published:
        hub.publish("job", batch(seq, 1))
    hub.resync(sub)
    for seq in queued:
        hub.publish("job", batch(seq, 1))
    assert sub.caught_up(read_upto) is caught_up


def test_a_follower_whose_queue_overflowed_reads_storage() -> None:
    hub = LogHub(300, 10_000)
    sub = hub.subscribe("job")
    hub.publish("job", batch(10, 1))
    hub.resync(sub)
    for seq in (11, 12, 13):
        hub.publish("job", batch(seq, 100))
    assert sub.overflowed
    assert not sub.caught_up(13)
