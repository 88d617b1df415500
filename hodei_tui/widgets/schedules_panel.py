"""The schedules: timetable, when the next run comes, the last run's state, paused or not.
Refreshed by polling (schedules change seldom); the countdown to the next run keeps counting
between refreshes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from rich.text import Text

from hodei_api import v1
from hodei_tui.cli.render_schedules import expression
from hodei_tui.console.format import plain, seconds, short_id, state_text
from hodei_tui.widgets.keyed_table import KeyedTable, cut


def next_text(schedule: v1.Schedule, now: datetime) -> Text:
    """``in 4m`` (the next run's countdown), ``due`` or ``paused``."""
    if schedule.paused or schedule.next_run is None:
        return Text("paused", style="#e5c07b")
    left = (schedule.next_run - now).total_seconds()
    return Text("due") if left <= 0 else Text(f"in {seconds(left)}")


class SchedulesPanel(KeyedTable):
    """One row per schedule, by name."""

    STRETCH = ("name", "expr")

    def __init__(self, clock: Callable[[], datetime], *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row")
        self.clock = clock
        self.schedules: dict[str, v1.Schedule] = {}

    def on_mount(self) -> None:
        for label, key, width in (
            ("SCHEDULE", "name", 12), ("WHEN", "expr", 14), ("NEXT", "next", 8),
            ("LAST JOB", "last", 8), ("STATE", "state", 9),
        ):  # fmt: skip
            self.add_column(label, key=key, width=width)

    def replace(self, schedules: list[v1.Schedule]) -> None:
        selected = self.selected_id
        self.schedules = {s.spec.name: s for s in schedules if s.spec is not None}
        self.clear()
        for name, schedule in sorted(self.schedules.items()):
            self.add_row(*self._cells(schedule).values(), key=name)
        if selected is not None and selected in self.rows:
            self.move_cursor(row=self.get_row_index(selected))
        self.fit_columns()
        paused = sum(s.paused for s in self.schedules.values())
        self.border_subtitle = f"{len(self.schedules) - paused} active · {paused} paused"

    def refresh_ages(self) -> None:
        for key in self.rows:
            self.update_cell(key, "next", next_text(self.schedules[key.value or ""], self.clock()))

    def _cells(self, schedule: v1.Schedule) -> dict[str, Text]:
        spec = schedule.spec or v1.ScheduleSpec()
        ran = bool(schedule.last_job_id)
        return {
            "name": cut(plain(spec.name)),
            "expr": cut(plain(expression(spec))),
            "next": next_text(schedule, self.clock()),
            "last": plain(short_id(schedule.last_job_id) or "-"),
            "state": state_text(schedule.last_job_state) if ran and schedule.last_job_state else Text("-"),
        }
