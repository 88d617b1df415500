"""The pulse strip follows the watch streams' events: queue depth, running jobs, jobs
finished per second and workers up, over the console's clock."""

from __future__ import annotations

from datetime import datetime, timedelta

from textual.widgets import Label, Sparkline

from hodei_api import v1
from hodei_tui.console import messages as m
from hodei_tui.console.app import make_app
from hodei_tui.console.pulse import BUCKET_SECONDS
from hodei_tui.widgets.jobs_table import JobsTable

from .scripted_client import JOBS, NOW, PENDING_ID, WORKERS, ScriptedConsoleClient
from .test_shown_as_data import until
from .test_snapshots import WIDE, fixed_backoff

RUNNING = JOBS[4]


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def shown(app: object, name: str) -> str:
    return str(app.screen.query_one(f"#pulse-{name}", Label).render())  # type: ignore[attr-defined]


def line(app: object, name: str) -> list[float]:
    return list(app.screen.query_one(f"#pulse-{name}-line", Sparkline).data or [])  # type: ignore[attr-defined]


async def test_the_strip_follows_jobs_and_workers_as_they_change() -> None:
    clock = Clock()
    app = make_app(ScriptedConsoleClient(), clock=clock, backoff=fixed_backoff())
    async with app.run_test(size=WIDE) as pilot:
        table = app.screen.query_one(JobsTable)
        await until(pilot, "listed", lambda: table.row_count == len(JOBS) and shown(app, "workers") != "")
        up = sum(w.live for w in WORKERS)
        await until(pilot, "workers counted", lambda: shown(app, "workers") == f"workers {up}")
        assert (shown(app, "queue"), shown(app, "running")) == ("queued 1", "running 1")

        clock.now += timedelta(seconds=BUCKET_SECONDS)
        screen = app.screen
        screen.post_message(
            m.JobChanged(v1.Job(id=RUNNING.id, spec=RUNNING.spec, state=v1.JobState.SUCCEEDED))
        )
        screen.post_message(m.JobChanged(v1.Job(id=PENDING_ID, spec=JOBS[6].spec, state=v1.JobState.RUNNING)))
        screen.post_message(m.WorkerChanged(v1.WorkerInfo(id=WORKERS[0].id, live=False)))
        await until(pilot, "queue drained", lambda: shown(app, "queue") == "queued 0")
        await until(pilot, "worker down counted", lambda: shown(app, "workers") == f"workers {up - 1}")
        assert shown(app, "running") == "running 1"
        assert shown(app, "finished") == f"done/s {1 / 60:.2f}"
        assert line(app, "queue")[-2:] == [1, 0]
        assert line(app, "finished")[-2:] == [0, 1 / BUCKET_SECONDS]
        assert line(app, "workers")[-2:] == [up, up - 1]
