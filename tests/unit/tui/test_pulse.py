"""The pulse's points: levels carried across quiet buckets, finishes counted per second."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hodei_tui.console.pulse import BUCKET_SECONDS, POINTS, Pulse

START = datetime(2026, 3, 14, 9, 0, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, buckets: int) -> None:
        self.now += timedelta(seconds=BUCKET_SECONDS * buckets)


def test_a_level_holds_until_it_changes_and_the_window_slides() -> None:
    clock = Clock()
    pulse = Pulse(clock)
    pulse.level("queue", 3)
    clock.advance(2)
    pulse.level("queue", 1)
    assert pulse.series("queue") == [3, 3, 1]  # nothing from before the console started
    clock.advance(POINTS + 5)  # quiet for longer than the window: still the last level
    assert pulse.series("queue") == [1] * POINTS
    assert pulse.now("queue") == 1


def test_finishes_are_a_rate_per_second_by_bucket() -> None:
    clock = Clock()
    pulse = Pulse(clock)
    pulse.count("finished", 5)
    clock.advance(1)
    pulse.count("finished")
    assert pulse.series("finished") == [5 / BUCKET_SECONDS, 1 / BUCKET_SECONDS]
    assert pulse.now("finished") == 6 / 60  # over the last minute
    clock.advance(POINTS)
    assert pulse.series("finished") == [0] * POINTS
