"""Which of several daemons (one database, several ``hodeid``) a client talks to next.

A client stays with the daemon that last answered, so that its calls land on one daemon while
that daemon is up; when it fails, the client moves on to the next address in the order given,
wrapping around, and tries each at most once per call.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Generic, TypeVar

T = TypeVar("T")


class Rotation(Generic[T]):
    """The daemons in the order to try them, starting with the one in use."""

    def __init__(self, items: Sequence[T]) -> None:
        if not items:
            raise ValueError("a rotation needs at least one daemon")
        self.items = list(items)
        self._current = 0

    @property
    def current(self) -> T:
        """The daemon in use: the last that answered, or the one after the last that failed."""
        return self.items[self._current]

    def order(self) -> list[T]:
        """Every daemon once: the one in use first, then those after it, wrapping around."""
        return self.items[self._current :] + self.items[: self._current]

    def worked(self, item: T) -> None:
        """``item`` answered: use it for the calls after this one."""
        self._current = self.items.index(item)

    def failed(self, item: T) -> None:
        """``item`` could not be reached: if it is still the one in use, move on to the next.
        A failure reported late, after another call already moved on, changes nothing."""
        if self.items[self._current] == item:
            self._current = (self._current + 1) % len(self.items)
