"""Keys in the console: each action that cannot be undone asks first; the submit form checks
the selector as it is typed and fits a small terminal."""

from __future__ import annotations

from textual.widgets import Label

from hodei_tui.console.form_spec import FIELDS
from hodei_tui.console.screens.confirm import ConfirmScreen
from hodei_tui.console.screens.main import MainScreen
from hodei_tui.console.screens.submit import SubmitScreen

from .scripted_client import JOBS, ScriptedConsoleClient
from .test_shown_as_data import console, screen_text, until
from .test_snapshots import SMALL, WIDE, select, settle

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


async def test_the_selector_is_checked_as_typed_and_its_error_clears_once_fixed() -> None:
    app = console(ScriptedConsoleClient())
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        await pilot.press("a")
        await until(pilot, "form open", lambda: isinstance(app.screen, SubmitScreen))
        error = app.screen.query_one("#error-selector", Label)
        await pilot.press("tab", "tab", "tab", *"zone in (a")
        await until(pilot, "selector flagged", lambda: error.display)
        # The whole message, wrapped onto a second line rather than cut at the form's edge.
        await settle(pilot)
        shown = screen_text(app)
        assert "selector 'zone in (a' is not valid; use k=v, k!=v, k, !k, 'k in (a,b)'" in shown
        assert "or 'k notin (a,b)'" in shown
        await pilot.press(")")
        await until(pilot, "error cleared", lambda: not error.display)


async def test_at_80_by_24_the_form_scrolls_to_its_buttons() -> None:
    client = ScriptedConsoleClient()
    app = console(client)
    async with app.run_test(size=SMALL) as pilot:
        await settle(pilot)
        await pilot.press("a")
        await until(pilot, "form open", lambda: isinstance(app.screen, SubmitScreen))
        await pilot.press(*"true", *["tab"] * len(FIELDS))
        await until(pilot, "on the button", lambda: app.focused is app.screen.query_one("#submit-ok"))
        await settle(pilot)
        await pilot.click("#submit-ok")  # a click lands on what is shown there, if anything
        await until(pilot, "submitted", lambda: len(client.submitted) == 1)
