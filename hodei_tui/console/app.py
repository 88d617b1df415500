"""The console app and ``make_app``, the one way the CLI and the tests build it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import ClassVar

from textual.app import App, SystemCommand
from textual.screen import Screen

from hodei_api.backoff import Backoff
from hodei_tui.console.protocol import ConsoleClient
from hodei_tui.console.screens.main import MainScreen

# The palette's entries: title, what it does, the main screen's action.
COMMANDS = [
    ("Submit a job", "open the submit form", "submit"),
    ("Cancel the selected job", "ask hodeid to cancel it", "cancel"),
    ("Retry the selected job", "queue a finished job again", "retry"),
    ("Drain the selected worker", "no new jobs for it; it stays connected", "drain"),
    ("Go to a job", "by id or its first characters", "goto"),
    ("Filter jobs by text", "id, name, worker or state", "filter"),
    ("Cycle the state filter", "all jobs, then each state", "cycle_state"),
    ("Log: follow the end", "scroll to the newest line and stay there", "log_follow"),
    ("Log: search", "find text in the log", "log_search"),
    ("Log: timestamps on/off", "show when each line was read", "log_timestamps"),
    ("Log: wrap on/off", "wrap long lines", "log_wrap"),
    ("Log: stdout / stderr / both", "choose the streams shown", "log_streams"),
    ("Show the keys", "the help overlay", "help"),
]


def utc_now() -> datetime:
    return datetime.now(UTC)


class HodeiApp(App[None]):
    """The operator console, attached to one daemon through ``client``."""

    CSS_PATH: ClassVar[str] = "console.tcss"
    TITLE = "hodei"

    def __init__(
        self,
        client: ConsoleClient,
        clock: Callable[[], datetime] = utc_now,
        backoff: Backoff | None = None,
    ) -> None:
        super().__init__()
        self.client = client
        self.clock = clock
        self.backoff = backoff or Backoff(base=0.5, cap=10.0, reset_after=10.0)

    def on_mount(self) -> None:
        self.push_screen(MainScreen(self.client, self.clock, self.backoff))

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        if isinstance(screen, MainScreen):
            for title, help_text, action in COMMANDS:
                yield SystemCommand(title, help_text, self._runner(screen, action))
        yield from super().get_system_commands(screen)

    @staticmethod
    def _runner(screen: MainScreen, action: str) -> Callable[[], object]:
        return lambda: screen.run_action(action)


def make_app(
    client: ConsoleClient, clock: Callable[[], datetime] = utc_now, backoff: Backoff | None = None
) -> HodeiApp:
    """The console for ``client``; tests pass a fixed clock and a seeded backoff."""
    return HodeiApp(client, clock, backoff)
