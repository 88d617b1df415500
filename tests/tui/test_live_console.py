"""The console against a live hodeid and hodei-worker: submit through the form, see the log
lines and SUCCEEDED, see the worker connected, then killed and shown disconnected."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Label

from hodei_api import v1
from hodei_tui.backend import Backend, open_clients
from hodei_tui.console.app import make_app
from hodei_tui.console.logstore import SYSTEM
from hodei_tui.console.screens.submit import SubmitScreen
from hodei_tui.widgets.connection_banner import ConnectionBanner
from hodei_tui.widgets.jobs_table import JobsTable
from hodei_tui.widgets.log_view import LogView
from hodei_tui.widgets.workers_panel import WorkersPanel
from tests.support.processes import Cluster, cluster, stop

from .test_shown_as_data import assert_data_only, screen_text

COMMAND = "sh -c 'for i in 1 2 3; do echo line$i; done'"
# The daemon's heartbeat is 1 s in tests and a worker is dropped after 3 silent ones; the
# deadline leaves room for a loaded machine.
DEADLINE = 60.0


@pytest.fixture
def live(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cluster]:
    with cluster(database_url, tmp_path, workers=[["--id", "w-console", "--slots", "1"]]) as c:
        # The console finds its token as a user's would: HODEI_TOKEN_FILE, here the daemon's own.
        monkeypatch.setenv("HODEI_TOKEN_FILE", str(c.data_dir / "admin.token"))
        yield c


async def until(pilot: Pilot[None], what: str, check: Callable[[], bool]) -> None:
    async with asyncio.timeout(DEADLINE):
        while not check():
            await pilot.pause(0.1)
    assert check(), what


async def test_submit_follow_and_see_the_worker_go(live: Cluster) -> None:
    client = Backend(open_clients(live.addr))
    app = make_app(client)
    try:
        async with app.run_test(size=(160, 48)) as pilot:
            workers = app.screen.query_one(WorkersPanel)
            jobs = app.screen.query_one(JobsTable)
            log = app.screen.query_one(LogView)
            await until(
                pilot, "worker connected", lambda: getattr(workers.infos.get("w-console"), "live", False)
            )

            # A field the form cannot check is checked by the daemon; its refusal shows in the form.
            await pilot.press("a")
            await pilot.pause()
            await pilot.press(*"true", "tab", "tab", *"1A=x", "enter")  # a name no shell takes
            form = app.screen
            assert isinstance(form, SubmitScreen)
            refusal = form.query_one("#submit-error", Label)
            await until(pilot, "refusal shown in the form", lambda: bool(refusal.display))
            assert "not submitted:" in str(refusal.render()) and "1A" in str(refusal.render())
            await pilot.press("escape")
            await pilot.pause()

            await pilot.press("a")
            await pilot.pause()
            await pilot.press(*COMMAND, "enter")

            def succeeded() -> bool:
                return any(j.state is v1.JobState.SUCCEEDED for j in jobs.jobs.values())

            await until(pilot, "job SUCCEEDED in the table", succeeded)
            [job] = jobs.jobs.values()
            assert jobs.selected_id == job.id, "the submitted job is selected"
            await until(pilot, "three log lines", lambda: len(log.store) >= 3)
            assert [log.store.text(i) for i in range(3)] == ["line1", "line2", "line3"]
            await until(pilot, "end of log noted", lambda: "SUCCEEDED" in log.store.text(len(log.store) - 1))
            assert workers.infos["w-console"].live

            [worker] = live.workers
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait()
            await until(pilot, "worker shown disconnected", lambda: not workers.infos["w-console"].live)
            assert "✕ down" in str(workers.get_cell("w-console", "stream"))
    finally:
        client.close()


async def test_reconnects_after_the_daemon_restarts_and_resumes_the_log(live: Cluster) -> None:
    ticker = "for i in $(seq 1 60); do echo t$i; sleep 0.1; done"
    client = Backend(open_clients(live.addr))
    app = make_app(client)
    try:
        async with app.run_test(size=(160, 48)) as pilot:
            screen = app.screen
            jobs = screen.query_one(JobsTable)
            log = screen.query_one(LogView)
            await until(pilot, "connected", lambda: not screen.has_class("-connecting"))
            await pilot.press("a")
            await pilot.pause()
            await pilot.press(*f"sh -c '{ticker}'", "enter")
            await until(pilot, "some output", lambda: len(log.store) >= 3)

            assert live.daemon is not None
            stop(live.daemon)
            await until(pilot, "shown disconnected", lambda: screen.has_class("-disconnected"))
            banner = screen.query_one(ConnectionBanner)
            assert banner.display and "retry" in str(banner.render())
            await pilot.press("a")  # actions are off while disconnected
            await pilot.pause()
            assert app.screen is screen
            live.start_daemon()
            await until(pilot, "connected again", lambda: not screen.has_class("-disconnected"))

            def ended() -> bool:
                return any(j.state is v1.JobState.SUCCEEDED for j in jobs.jobs.values())

            await until(pilot, "job SUCCEEDED after the restart", ended)
            await until(pilot, "end of log noted", lambda: "SUCCEEDED" in log.store.text(len(log.store) - 1))
            [job_id] = jobs.jobs
            shown = [log.store.text(i) for i in range(len(log.store)) if log.store.streams[i] != SYSTEM]
            stored = live.hodei("job", "logs", job_id).stdout.decode().splitlines()
            # Resumed by sequence number: exactly the daemon's log, nothing twice, nothing skipped.
            assert shown == stored
            assert any(
                "connection lost; resuming after line" in log.store.text(i) for i in range(len(log.store))
            )
    finally:
        client.close()


async def test_names_and_output_from_a_live_daemon_are_shown_as_data(live: Cluster) -> None:
    # A job named [/] once stopped every console at start; ESC in a name reached the terminal.
    names = ["[/]", "[bold red]x", "\x1b[2J\x1b]0;owned\x07"]
    for name in names:
        done = live.hodei("job", "run", "--name", name, "--", "printf", "\\033[2J[bold]out[/]\\n")
        # job run writes the job's output byte for byte, like cat.
        assert (done.returncode, done.stdout) == (0, b"\x1b[2J[bold]out[/]\n"), done.stderr
    client = Backend(open_clients(live.addr))
    app = make_app(client)
    try:
        async with app.run_test(size=(160, 48)) as pilot:
            jobs = app.screen.query_one(JobsTable)
            await until(pilot, "jobs listed", lambda: jobs.row_count == len(names))
            jobs.move_cursor(row=jobs.row_count - 1)  # the first, named [/]
            expected = ("[/]", "[bold red]x", "\\x1b[2J\\x1b]0;own", "\\x1b[2J[bold]out[/]")
            # The names and the output are drawn when the log has loaded and the screen refreshed.
            await until(pilot, "names and output shown", lambda: all(t in screen_text(app) for t in expected))
            assert_data_only(app)
    finally:
        client.close()
