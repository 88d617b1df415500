"""Columns use the width their pane has: a name or a label is cut only when the pane is full,
and then with an ellipsis."""

from __future__ import annotations

from hodei_tui.widgets.jobs_table import JobsTable
from hodei_tui.widgets.workers_panel import WorkersPanel

from .scripted_client import JOBS, WORKERS, ScriptedConsoleClient, worker
from .test_shown_as_data import console, screen_text, until
from .test_snapshots import NARROW, WIDE, settle

PROBE = worker("probe-1", True, 0, 2, 0.3, 1.0, pool="barprobe")
CROWDED = worker("probe-2", True, 0, 2, 0.3, 1.0, pool="barprobe", zone="eu-west-1a", rack="r17-upper-left")


def rows(app: object, first: str) -> list[str]:
    return [line for line in screen_text(app).splitlines() if first in line]  # type: ignore[arg-type]


async def test_a_label_is_shown_whole_while_the_pane_has_room() -> None:
    # At 160 columns the pane's nine columns fill it (it cut this label while half of it was
    # empty when it had eight): 200 leave room.
    app = console(ScriptedConsoleClient(workers=[*WORKERS, PROBE]))
    async with app.run_test(size=(200, WIDE[1])) as pilot:
        panel = app.screen.query_one(WorkersPanel)
        await until(pilot, "workers listed", lambda: panel.row_count == len(WORKERS) + 1)
        await settle(pilot)
        assert "pool=barprobe " in rows(app, "probe-1")[0]


async def test_a_label_too_long_for_the_pane_is_cut_where_it_ends_and_says_so() -> None:
    app = console(ScriptedConsoleClient(workers=[*WORKERS, PROBE, CROWDED]))
    async with app.run_test(size=(200, WIDE[1])) as pilot:
        panel = app.screen.query_one(WorkersPanel)
        await until(pilot, "workers listed", lambda: panel.row_count == len(WORKERS) + 2)
        await settle(pilot)
        assert "pool=barprobe " in rows(app, "probe-1")[0], "the longer label takes only the rest"
        (crowded,) = rows(app, "probe-2")
        assert "pool=barprobe,rack=" in crowded and "…" in crowded


async def test_the_jobs_name_widens_on_a_narrow_terminal_where_the_pane_is_whole() -> None:
    app = console(ScriptedConsoleClient())
    async with app.run_test(size=NARROW) as pilot:
        table = app.screen.query_one(JobsTable)
        await until(pilot, "jobs listed", lambda: table.row_count == len(JOBS))
        await settle(pilot)
        assert "./train.py --epochs 3 " in rows(app, "00000005")[0]
