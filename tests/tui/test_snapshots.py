"""Snapshots of the console (fixed terminal size, clock, ids and data): the main screen with
jobs in several states, a waiting job's explanation, the narrow layout, the submit form with a
validation error, the disconnected banner and the help overlay."""

from __future__ import annotations

import random
from collections.abc import Callable

from textual.pilot import Pilot
from textual.widgets import Input

from hodei_api.backoff import Backoff
from hodei_tui.console.app import HodeiApp, make_app
from hodei_tui.console.form_spec import FIELDS
from hodei_tui.widgets.jobs_table import JobsTable

from .scripted_client import JOBS, NOW, PENDING_ID, WAITING_ON_JOBS, WORKERS, ScriptedConsoleClient, worker

SnapCompare = Callable[..., bool]
WIDE = (160, 48)
NARROW = (100, 40)
SMALL = (80, 24)


def app(client: ScriptedConsoleClient | None = None) -> HodeiApp:
    # A backoff that waits long enough for the snapshot to be taken at a known countdown.
    return make_app(client or ScriptedConsoleClient(), clock=lambda: NOW, backoff=fixed_backoff())


def fixed_backoff() -> Backoff:
    return Backoff(base=60.0, cap=60.0, rng=random.Random(7))


async def settle(pilot: Pilot[None]) -> None:
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()
    # A blinking cursor is drawn or not depending on when the picture is taken: hide it.
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False
    await pilot.pause()


async def select(pilot: Pilot[None], job_id: str) -> None:
    await settle(pilot)
    table = pilot.app.screen.query_one(JobsTable)
    table.move_cursor(row=table.get_row_index(job_id))
    await settle(pilot)


def test_main_screen_with_jobs_in_several_states(snap_compare: SnapCompare) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await select(pilot, JOBS[4].id)  # the running job, with its log

    assert snap_compare(app(), terminal_size=WIDE, run_before=run_before)


def test_a_finished_job_shows_what_it_used(snap_compare: SnapCompare) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await select(pilot, JOBS[0].id)  # succeeded: its CPU, peak memory and wall time

    assert snap_compare(app(), terminal_size=WIDE, run_before=run_before)


def test_waiting_job_explained(snap_compare: SnapCompare) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await select(pilot, PENDING_ID)
        await pilot.press("3")  # the trace pane

    assert snap_compare(app(), terminal_size=WIDE, run_before=run_before)


def test_job_waiting_on_its_dependencies_explained(snap_compare: SnapCompare) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await select(pilot, PENDING_ID)
        await pilot.press("3")  # the trace pane

    client = ScriptedConsoleClient(explained={PENDING_ID: WAITING_ON_JOBS})
    assert snap_compare(app(client), terminal_size=WIDE, run_before=run_before)


def test_narrow_layout_shows_tabs(snap_compare: SnapCompare) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)

    assert snap_compare(app(), terminal_size=NARROW, run_before=run_before)


def test_columns_use_the_width_of_their_pane(snap_compare: SnapCompare) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)

    probes = [
        worker("probe-1", True, 0, 2, 0.3, 1.0, pool="barprobe"),
        worker("probe-2", True, 0, 2, 0.3, 1.0, pool="barprobe", zone="eu-west-1a", rack="r17-upper-left"),
    ]
    client = ScriptedConsoleClient(workers=[*WORKERS, *probes])
    assert snap_compare(app(client), terminal_size=WIDE, run_before=run_before)


def test_submit_form_with_a_validation_error(snap_compare: SnapCompare) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        await pilot.press(*"echo hi", "tab", "tab", "tab", "tab", *"two", "enter")
        await settle(pilot)

    assert snap_compare(app(), terminal_size=WIDE, run_before=run_before)


def test_submit_form_at_80_by_24_scrolls_to_its_buttons(snap_compare: SnapCompare) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        await pilot.press(*"echo hi", *["tab"] * len(FIELDS))
        await settle(pilot)

    assert snap_compare(app(), terminal_size=SMALL, run_before=run_before)


def test_disconnected_banner(snap_compare: SnapCompare) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)

    client = ScriptedConsoleClient(lose_after_listing=True)
    assert snap_compare(app(client), terminal_size=WIDE, run_before=run_before)


def test_disconnected_banner_at_100_columns_keeps_its_retry_line(snap_compare: SnapCompare) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)

    client = ScriptedConsoleClient(lose_after_listing=True)
    assert snap_compare(app(client), terminal_size=NARROW, run_before=run_before)


def test_help_overlay(snap_compare: SnapCompare) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)

    assert snap_compare(app(), terminal_size=WIDE, run_before=run_before)


def test_schedules_tab_at_80_by_24(snap_compare: SnapCompare) -> None:
    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("5")  # the schedules pane
        await settle(pilot)

    assert snap_compare(app(), terminal_size=SMALL, run_before=run_before)
