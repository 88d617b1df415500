"""Reconnect delays for every client of a daemon (worker, CLI, console): capped exponential
backoff with full jitter."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

# 2**60 times any sane base is far past any cap; stopping the exponent there keeps the
# arithmetic in float range however long the daemon stays away.
_MAX_EXPONENT = 60


@dataclass
class Backoff:
    """Delays between connection attempts.

    Each delay is drawn uniformly from ``[0, min(cap, base * 2**failures)]`` ("full jitter", so
    a fleet of workers does not reconnect in lockstep after a daemon restart). A connection
    that stayed up for ``reset_after`` seconds counts as healthy and starts the series over.
    """

    base: float = 0.5
    cap: float = 15.0
    reset_after: float = 30.0
    rng: random.Random = field(default_factory=random.Random)
    failures: int = 0

    def next_delay(self, uptime: float = 0.0) -> float:
        """Seconds to wait before the next attempt; ``uptime`` is how long the last one lasted."""
        if uptime >= self.reset_after:
            self.failures = 0
        ceiling = min(self.cap, self.base * 2 ** min(self.failures, _MAX_EXPONENT))
        self.failures += 1
        return self.rng.uniform(0.0, ceiling)

    def reset(self) -> None:
        """Start the series over (the connection is healthy again)."""
        self.failures = 0
