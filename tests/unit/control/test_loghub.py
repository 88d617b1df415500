"""The log hub's byte budgets, as a table: what each follower's queue takes, when it
overflows, and what is released."""

from __future__ import annotations

import pytest

from hodei_api import v1
from hodei_api.loglines import Line, pack, size_of
from hodeid.control.loghub import EVERY_SEQ, LogHub, Wake


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
        # A wake queued is no unread line: the big batch still goes.
        (300, 10_000, [0, 5000], False, 2),
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
        if size:
            hub.publish("j", batch(seq, size))
        else:
            hub.stored("j", seq)
    assert sub.overflowed is overflowed
    assert hub.overflows == int(overflowed)
    assert sub.queue.qsize() == queued + int(overflowed)  # the wake-up after an overflow
    charged = sum(size_of(batch(1, s)) for s in sizes[:queued] if s)
    assert hub.budget.used == sub.queued_bytes == charged


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


async def test_lines_stored_elsewhere_wake_only_that_jobs_followers_once() -> None:
    hub = LogHub(10_000, 10_000)
    first, second, other = hub.subscribe("job"), hub.subscribe("job"), hub.subscribe("other")
    for seq in (3, 7, 5):
        hub.stored("job", seq)
    assert other.queue.empty()
    for sub in (first, second):
        # One wake queued, however many notifications: the greatest seq heard, nothing charged.
        assert sub.queue.qsize() == 1 and sub.queued_bytes == 0
        wake = await sub.get()
        assert isinstance(wake, Wake) and (wake.stored, wake.changed) == (7, False)
    hub.stored("job", 8)
    wake = await first.get()
    assert isinstance(wake, Wake) and wake.stored == 8  # a new wake once the last was taken


async def test_lines_this_hub_published_wake_nobody_when_heard_back() -> None:
    hub = LogHub(10_000, 10_000)
    sub = hub.subscribe("job")
    hub.publish("job", batch(1, 10))
    hub.publish("job", batch(2, 10))
    hub.stored("job", 1)
    hub.stored("job", 2)
    assert sub.queue.qsize() == 2
    assert [await sub.get(), await sub.get()] == [batch(1, 10), batch(2, 10)]
    hub.stored("job", 3)  # stored by another daemon
    wake = await sub.get()
    assert isinstance(wake, Wake) and wake.stored == 3


async def test_a_job_change_or_a_missed_notification_wakes_followers_to_look_again() -> None:
    hub = LogHub(10_000, 10_000)
    job, other = hub.subscribe("job"), hub.subscribe("other")
    hub.stored("job", 4)
    hub.changed("job")
    wake = await job.get()
    assert isinstance(wake, Wake) and (wake.stored, wake.changed) == (4, True)
    assert other.queue.empty()
    hub.missed()
    for sub in (job, other):
        wake = await sub.get()
        assert isinstance(wake, Wake) and (wake.stored, wake.changed) == (EVERY_SEQ, True)


def test_an_overflowed_follower_is_not_woken_again_and_a_resync_forgets_its_wake() -> None:
    hub = LogHub(300, 10_000)
    sub = hub.subscribe("job")
    hub.stored("job", 1)
    hub.resync(sub)
    assert sub.queue.empty() and sub.waking is None
    for seq in range(2, 6):
        hub.publish("job", batch(seq, 100))
    assert sub.overflowed
    queued = sub.queue.qsize()
    hub.stored("job", 9)
    hub.changed("job")
    assert sub.queue.qsize() == queued
