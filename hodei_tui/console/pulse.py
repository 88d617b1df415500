"""The console's pulse: queue depth, running jobs, jobs finished per second and workers up,
one point per few seconds over the last minutes. It is fed from the watch streams' events as
the console applies them (levels set, finishes counted), never by asking the daemon."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

BUCKET_SECONDS = 5.0
POINTS = 60  # five minutes
LEVELS = ("queue", "running", "workers")
RATES = ("finished",)


class Pulse:
    """Points by bucket (``BUCKET_SECONDS`` of the clock each): a level keeps its last value
    until it changes, so a quiet minute reads flat, not empty; a rate is what was counted in
    the bucket, per second."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock
        self._born = self._bucket()
        self._levels: dict[str, dict[int, float]] = {name: {} for name in LEVELS}
        self._counts: dict[str, dict[int, int]] = {name: {} for name in RATES}

    def _bucket(self) -> int:
        return int(self.clock().timestamp() // BUCKET_SECONDS)

    def level(self, name: str, value: float) -> None:
        self._levels[name][self._bucket()] = value
        self._forget(self._levels[name])

    def count(self, name: str, n: int = 1) -> None:
        bucket = self._bucket()
        counts = self._counts[name]
        counts[bucket] = counts.get(bucket, 0) + n
        self._forget(counts)

    def _forget(self, points: dict[int, float] | dict[int, int]) -> None:
        # Keeps the newest point older than the window: the level a quiet window starts from.
        old = sorted(b for b in points if b <= self._bucket() - POINTS)
        for bucket in old[:-1]:
            del points[bucket]

    def series(self, name: str) -> list[float]:
        """The last ``POINTS`` points, oldest first, the current bucket last; none from before
        the console started (it knew nothing then, which is not zero)."""
        now = self._bucket()
        window = range(max(self._born, now - POINTS + 1), now + 1)
        if name in self._counts:
            counts = self._counts[name]
            return [counts.get(b, 0) / BUCKET_SECONDS for b in window]
        levels = self._levels[name]
        current = next((levels[b] for b in sorted(levels, reverse=True) if b < window[0]), 0.0)
        points = []
        for bucket in window:
            current = levels.get(bucket, current)
            points.append(current)
        return points

    def now(self, name: str) -> float:
        """A level as it is now; a rate over the last minute (the current bucket is young)."""
        if name in self._counts:
            since = self._bucket() - int(60 / BUCKET_SECONDS)
            return sum(n for b, n in self._counts[name].items() if b > since) / 60
        return self.series(name)[-1]
