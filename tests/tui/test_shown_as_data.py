"""Names, ids, labels, decisions, output and the daemon's messages are data in the console:
markup in them is shown, not applied (a job named ``[/]`` once stopped every console at
start), and their control characters are shown as escapes, never sent to the terminal."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from textual.pilot import Pilot

from hodei_api import v1
from hodei_api.loglines import Line
from hodei_api.printable import printable
from hodei_tui.console.app import HodeiApp, make_app
from hodei_tui.console.screens.confirm import ConfirmScreen
from hodei_tui.console.screens.submit import SubmitScreen
from hodei_tui.widgets.jobs_table import JobsTable
from hodei_tui.widgets.log_view import LogView
from hodei_tui.widgets.workers_panel import WorkersPanel

from .scripted_client import JOBS as BENIGN_JOBS
from .scripted_client import NOW, ScriptedConsoleClient, ago, job, worker
from .test_snapshots import WIDE, SnapCompare, fixed_backoff, select, settle

CLEAR = "\x1b[2J\x1b]0;owned\x07cleared"
JOBS = [
    job(11, v1.JobState.FAILED, "[/]", 300, attempt=1, worker_id="[/]", exit_code=1),
    job(12, v1.JobState.RUNNING, "[bold red]x", 200, attempt=1, worker_id="w\x1b[2J"),
    job(13, v1.JobState.PENDING, CLEAR, 100),
    job(14, v1.JobState.SUCCEEDED, "two\nFORGED row", 50, attempt=1, worker_id="ok-1", exit_code=0),
]
WORKERS = [
    worker("ok-1", True, 0, 2, 0.4, 1.2, zone="a"),
    worker("w\x1b[2J", True, 1, 1, 0.5, 2.0, zone="\x1b]0;t\x07[b]"),
    worker("[/]", False, 0, 1, 90.0, 0.0),  # departed, still listed
]
LOG = [
    Line(1, v1.LogStream.STDOUT, b"\x1b[31mred\x1b[0m [bold]not bold[/]\n", int(ago(9).timestamp() * 1e6), 1),
    Line(2, v1.LogStream.STDERR, "bell\x07 and \u202eevil\n".encode(), int(ago(8).timestamp() * 1e6), 1),
]
DECISION = v1.Decision(
    outcome=v1.PlacementOutcome.WAITING,
    strategy="least-loaded",
    verdicts=[
        v1.Verdict(
            target="[/]", kind="worker", reason=v1.PlacementReason.STREAM_DOWN, message="[bold]x\x1b[2J gone"
        )
    ],
    histogram={"[/]": 1},
    decided_at=NOW,
    summary="[bold red]waiting\x1b]0;t\x07",
)


def hostile(**fields: object) -> ScriptedConsoleClient:
    return ScriptedConsoleClient(
        jobs=JOBS,
        workers=WORKERS,
        logs={JOBS[1].id: LOG},
        explained={JOBS[1].id: DECISION, JOBS[2].id: DECISION},
        **fields,  # type: ignore[arg-type]
    )


def console(client: ScriptedConsoleClient) -> HodeiApp:
    return make_app(client, clock=lambda: NOW, backoff=fixed_backoff())


def screen_text(app: HodeiApp) -> str:
    """Every character on the screen, as the terminal would get it (every layer, toasts too)."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def assert_data_only(app: HodeiApp) -> str:
    shown = screen_text(app)
    assert [ch for ch in shown if ch != "\n" and printable(ch) != ch] == []
    return shown


async def until(pilot: Pilot[None], what: str, check: Callable[[], bool]) -> None:
    async with asyncio.timeout(30):
        while not check():
            await pilot.pause(0.05)
    assert check(), what


def test_hostile_names_shown_literally(snap_compare: SnapCompare) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await select(pilot, JOBS[1].id)  # the running job: its log and its trace

    assert snap_compare(console(hostile()), terminal_size=WIDE, run_before=run_before)


async def test_the_console_starts_and_every_pane_shows_data_as_data() -> None:
    app = console(hostile())
    async with app.run_test(size=WIDE) as pilot:
        jobs = app.screen.query_one(JobsTable)
        await until(pilot, "jobs listed", lambda: jobs.row_count == len(JOBS))
        await select(pilot, JOBS[1].id)
        log = app.screen.query_one(LogView)
        await until(pilot, "log shown", lambda: len(log.store) == len(LOG))
        await settle(pilot)
        names = [jobs.get_cell(j.id, "name").plain for j in JOBS]
        assert names == ["[/]", "[bold red]x", "\\x1b[2J\\x1b]0;owned\\x07cleared", "two\\nFORGED row"]
        shown = assert_data_only(app)
        for text in (
            "[bold red]x",  # the job, not markup
            "w\\x1b[2J",  # a worker id, in the jobs table and the workers panel
            "zone=\\x",  # a label value, as much as fits
            "\\x1b[31mred\\x1b[0m [bold]not bold[/]",  # the job's output, in the log pane
            "bell\\x07 and \\u202eevil",
            "[bold red]waiting\\x1b]0;t\\x07",  # the decision's summary
            "[/]: [bold]x\\x1b[2J gone",  # a verdict
        ):
            assert text in shown
        assert not [row for row in shown.splitlines() if row.lstrip("│ ").startswith("FORGED")]
        workers = app.screen.query_one(WorkersPanel)
        assert workers.get_cell("w\x1b[2J", "labels").plain == "zone=\\x1b]0;t\\x07[b]"
        assert workers.get_cell("[/]", "id").plain == "[/]"  # departed, still listed


async def test_the_drain_dialog_a_refusal_toast_and_the_form_show_data_as_data() -> None:
    # Markup that parses (a job named [/] would stop the original console before these show).
    name = "[b]w-1[/b]"
    refusal = "worker [b]gone[/b] \x1b]0;owned\x07"
    client = ScriptedConsoleClient(workers=[worker(name, True, 0, 1, 0.1, 1.0)], refusal=refusal)
    app = console(client)
    async with app.run_test(size=WIDE, notifications=True) as pilot:
        workers = app.screen.query_one(WorkersPanel)
        await until(pilot, "workers listed", lambda: workers.row_count == 1)
        await pilot.press("2", "d")
        await until(pilot, "drain asked", lambda: isinstance(app.screen, ConfirmScreen))
        await settle(pilot)
        assert "Drain worker [b]w-1[/b]? It finishes its jobs" in assert_data_only(app)
        await pilot.press("y")
        shown = "worker [b]gone[/b] \\x1b]0;owned\\x07"
        await until(pilot, "refusal toast", lambda: shown in screen_text(app))
        assert_data_only(app)

        await pilot.press("a")
        await until(pilot, "form open", lambda: isinstance(app.screen, SubmitScreen))
        await pilot.press(*"echo hi", "enter")
        await until(pilot, "form refused", lambda: f"not submitted: {shown}" in screen_text(app))
        assert_data_only(app)


async def test_the_banner_shows_the_error_as_data() -> None:
    client = ScriptedConsoleClient(lose_after_listing=True, unreachable="cannot reach [b]hodeid[/b]\x1b[2J")
    app = console(client)
    async with app.run_test(size=WIDE) as pilot:
        shown = "DISCONNECTED · cannot reach [b]hodeid[/b]\\x1b[2J"
        await until(pilot, "banner", lambda: shown in screen_text(app))
        assert_data_only(app)


async def test_a_search_for_markup_is_shown_as_typed() -> None:
    app = console(ScriptedConsoleClient())
    async with app.run_test(size=WIDE) as pilot:
        await select(pilot, BENIGN_JOBS[4].id)  # the one with a log
        log = app.screen.query_one(LogView)
        await until(pilot, "log shown", lambda: len(log.store) > 0)
        await pilot.press("4", "slash")
        await settle(pilot)
        await pilot.press(*"[/]", "enter")
        await until(pilot, "search done", lambda: "/[/]: no match" in screen_text(app))
        assert "/[/]: no match" in assert_data_only(app)
