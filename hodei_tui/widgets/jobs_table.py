"""The jobs table: newest first, coloured states, filtered by state and text, live."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from rich.text import Text

from hodei_api import v1
from hodei_tui.console.format import age, exit_text, job_name, plain, short_id, state_text
from hodei_tui.widgets.keyed_table import KeyedTable, cut

# What the state filter cycles through: every job, then each state on its own.
STATE_FILTERS: list[v1.JobState | None] = [
    None,
    *(s for s in v1.JobState if s is not v1.JobState.UNSPECIFIED),
]
NAME_WIDTH = 18
# Jobs kept by a long-running console: the newest; older ones can be fetched with go-to.
MAX_JOBS = 2000


class JobsTable(KeyedTable):
    """Jobs by id; rows rebuilt from ``jobs`` whenever the data or the filter changes."""

    STRETCH = ("name", "worker")

    def __init__(self, clock: Callable[[], datetime], *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.clock = clock
        self.jobs: dict[str, v1.Job] = {}
        self.state_filter: v1.JobState | None = None
        self.text_filter = ""

    def on_mount(self) -> None:
        for label, key, width in (
            ("ID", "id", 8), ("NAME", "name", NAME_WIDTH), ("STATE", "state", 9),
            ("WORKER", "worker", 14), ("ATT", "attempt", 3), ("AGE", "age", 4), ("EXIT", "exit", 6),
        ):  # fmt: skip
            self.add_column(label, key=key, width=width)

    def replace(self, jobs: list[v1.Job]) -> None:
        self.jobs = {job.id: job for job in jobs}
        self.rebuild()

    def upsert(self, *jobs: v1.Job) -> None:
        """Take changed jobs: known rows are updated in place; anything else rebuilds once."""
        rebuild = False
        for job in jobs:
            known = job.id in self.jobs
            self.jobs[job.id] = job
            if known and self._shown(job) and job.id in self.rows:
                for key, value in self._cells(job).items():
                    self.update_cell(job.id, key, value)
            else:
                rebuild = True
        if len(self.jobs) > MAX_JOBS:
            newest = sorted(self.jobs.values(), key=_newest_first)[:MAX_JOBS]
            self.jobs = {j.id: j for j in newest}
            rebuild = True
        if rebuild:
            self.rebuild()
        else:
            self.fit_columns()

    def refresh_ages(self) -> None:
        """Update the ages on screen (rows scrolled into view get theirs within a second)."""
        now = self.clock()
        top = int(self.scroll_y)
        for row in self.ordered_rows[top : top + self.size.height]:
            job = self.jobs[row.key.value or ""]
            self.update_cell(row.key, "age", Text(age(job.created_at, now)))

    def _shown(self, job: v1.Job) -> bool:
        if self.state_filter is not None and job.state is not self.state_filter:
            return False
        needle = self.text_filter.lower()
        return not needle or any(
            needle in field.lower() for field in (job.id, job_name(job), job.worker_id, job.state.name)
        )

    def _cells(self, job: v1.Job) -> dict[str, Text]:
        return {
            "id": plain(short_id(job.id)),
            "name": cut(plain(job_name(job))),
            "state": state_text(job.state),
            "worker": cut(plain(job.worker_id or "-")),
            "attempt": Text(str(job.attempt)),
            "age": Text(age(job.created_at, self.clock())),
            "exit": Text(exit_text(job)),
        }

    def rebuild(self) -> None:
        """Rows for the jobs the filters let through, newest first, keeping the cursor's job."""
        selected = self.selected_id
        self.clear()
        shown = sorted((j for j in self.jobs.values() if self._shown(j)), key=_newest_first)
        for job in shown:
            self.add_row(*self._cells(job).values(), key=job.id)
        if selected is not None and selected in self.rows:
            self.move_cursor(row=self.get_row_index(selected))
        self.fit_columns()
        self.border_subtitle = plain(self.describe_filter())

    def describe_filter(self) -> str:
        parts = []
        if self.state_filter is not None:
            parts.append(f"state={self.state_filter.name}")
        if self.text_filter:
            parts.append(f"text={self.text_filter!r}")
        shown = f"{self.row_count} of {len(self.jobs)}" if parts else f"{len(self.jobs)}"
        return " · ".join([f"{shown} jobs", *parts])

    def action_cycle_state(self) -> None:
        at = STATE_FILTERS.index(self.state_filter)
        self.state_filter = STATE_FILTERS[(at + 1) % len(STATE_FILTERS)]
        self.rebuild()

    def set_text_filter(self, text: str) -> None:
        self.text_filter = text.strip()
        self.rebuild()


def _newest_first(job: v1.Job) -> tuple[float, str]:
    return (-job.created_at.timestamp() if job.created_at else 0.0, job.id)
