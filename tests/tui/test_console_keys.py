"""Keys in the console that act on the daemon: each one that cannot be undone asks first."""

from __future__ import annotations

from hodei_tui.console.screens.confirm import ConfirmScreen
from hodei_tui.console.screens.main import MainScreen

from .scripted_client import JOBS, ScriptedConsoleClient
from .test_shown_as_data import console, screen_text, until
from .test_snapshots import WIDE, select

RUNNING = JOBS[4]


async def test_c_asks_before_cancelling_and_n_keeps_the_job() -> None:
    client = ScriptedConsoleClient()
    app = console(client)
    async with app.run_test(size=WIDE) as pilot:
        await select(pilot, RUNNING.id)
        await pilot.press("c")
        await until(pilot, "cancel asked", lambda: isinstance(app.screen, ConfirmScreen))
        assert f"Cancel job {RUNNING.id[:8]} (RUNNING)?" in screen_text(app)
        await pilot.press("n")
        await until(pilot, "question gone", lambda: isinstance(app.screen, MainScreen))
        await pilot.pause()
        assert client.cancelled == []

        await pilot.press("c")
        await until(pilot, "cancel asked again", lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await until(pilot, "cancel sent", lambda: client.cancelled == [RUNNING.id])
