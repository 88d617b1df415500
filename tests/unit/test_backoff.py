"""The reconnect backoff: full jitter under an exponential ceiling, capped, reset by a healthy link."""

from __future__ import annotations

import random

import pytest

from hodei_api.backoff import Backoff


class Ceiling(random.Random):
    """Draws the top of the jitter range, so a test sees the ceiling itself."""

    def uniform(self, a: float, b: float) -> float:
        return b


@pytest.mark.parametrize(
    ("failures", "ceiling"),
    [(0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 15.0), (6, 15.0), (10_000, 15.0)],
)
def test_ceiling_doubles_up_to_the_cap(failures: int, ceiling: float) -> None:
    backoff = Backoff(rng=Ceiling(), failures=failures)
    assert backoff.next_delay() == ceiling
    assert backoff.failures == failures + 1


def test_delays_stay_within_zero_and_the_ceiling() -> None:
    backoff = Backoff(rng=random.Random(7))
    for failures in range(12):
        delay = backoff.next_delay()
        assert 0.0 <= delay <= min(15.0, 0.5 * 2**failures)


def test_jitter_spreads_over_the_whole_range() -> None:
    delays = [Backoff(rng=random.Random(seed), failures=5).next_delay() for seed in range(200)]
    assert min(delays) < 1.5
    assert max(delays) > 13.5
    assert max(delays) <= 15.0


@pytest.mark.parametrize(
    ("uptime", "ceiling"),
    [(0.0, 8.0), (29.9, 8.0), (30.0, 0.5), (3600.0, 0.5)],
)
def test_a_connection_that_stayed_up_resets_the_series(uptime: float, ceiling: float) -> None:
    backoff = Backoff(rng=Ceiling())
    for _ in range(4):
        backoff.next_delay()
    assert backoff.next_delay(uptime) == ceiling


def test_custom_base_cap_and_reset() -> None:
    backoff = Backoff(base=0.1, cap=0.3, reset_after=1.0, rng=Ceiling())
    assert [backoff.next_delay() for _ in range(4)] == [0.1, 0.2, 0.3, 0.3]
    assert backoff.next_delay(uptime=1.0) == 0.1


def test_reset_starts_the_series_over() -> None:
    backoff = Backoff(rng=Ceiling(), failures=4)
    backoff.reset()
    assert backoff.next_delay() == 0.5
