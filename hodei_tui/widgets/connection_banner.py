"""The banner shown while the daemon cannot be reached: why, how many tries, when the next
one is, and when the daemon was last heard from."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from rich.text import Text
from textual.widgets import Static

from hodei_tui.console.format import age, plain


class ConnectionBanner(Static):
    def __init__(self, clock: Callable[[], datetime], *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.clock = clock
        self.error = ""
        self.attempts = 0
        self.next_at: datetime | None = None
        self.last_contact: datetime | None = None

    def down(self, error: str, attempts: int, next_at: datetime) -> None:
        self.error, self.attempts, self.next_at = error, attempts, next_at
        self.display = True
        self.tick()

    def up(self) -> None:
        self.last_contact = self.clock()
        self.display = False

    def tick(self) -> None:
        """Update the countdown and the time since last contact."""
        if not self.display:
            self.last_contact = self.clock()
            return
        now = self.clock()
        wait = max(0.0, (self.next_at - now).total_seconds()) if self.next_at else 0.0
        last = "never" if self.last_contact is None else f"{age(self.last_contact, now)} ago"
        self.update(
            Text.assemble(
                plain(f"DISCONNECTED · {self.error}"),
                "\n",
                f"retry {self.attempts} · next attempt in {wait:.0f}s · last contact {last} · "
                "data below is as it was; actions are off until the daemon is back",
            )
        )
