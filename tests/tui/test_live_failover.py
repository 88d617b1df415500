"""The console given two daemons on one database: it says which one it is attached to, and when
that one is killed (-9) its watches and the selected job's log move to the other, the log
resumed after its last line (the job's worker streams to the other daemon, undisturbed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hodei_api import v1
from hodei_tui.backend import Backend, open_clients
from hodei_tui.console.app import make_app
from hodei_tui.console.logstore import SYSTEM
from hodei_tui.widgets.jobs_table import JobsTable
from hodei_tui.widgets.log_view import LogView
from tests.e2e.conftest import job_dir, pair
from tests.e2e.test_client_failover import TWO_PARTS
from tests.support.jobs import detach
from tests.support.processes import Cluster, kill

from .test_live_console import until

__all__ = ["job_dir", "pair"]


async def test_the_console_moves_to_the_other_daemon(
    pair: tuple[Cluster, Cluster], job_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = pair
    b.start_worker("--id", "w-b")
    monkeypatch.setenv("HODEI_TOKEN_FILE", str(a.data_dir / "admin.token"))
    go = job_dir / "go"
    job_id = detach(b, "--", "sh", "-c", TWO_PARTS, "sh", str(go))
    client = Backend(open_clients(f"{a.addr},{b.addr}"))
    app = make_app(client)
    try:
        async with app.run_test(size=(160, 48)) as pilot:
            screen = app.screen
            jobs = screen.query_one(JobsTable)
            log = screen.query_one(LogView)
            await until(pilot, "attached to A", lambda: screen.sub_title == f"connected to {a.addr}")
            await until(pilot, "the job selected", lambda: jobs.selected_id == job_id)
            await until(pilot, "some output", lambda: len(log.store) >= 1)

            assert a.daemon is not None
            kill(a.daemon)
            await until(pilot, "attached to B", lambda: screen.sub_title == f"connected to {b.addr}")
            go.touch()

            def ended() -> bool:
                return jobs.jobs[job_id].state is v1.JobState.SUCCEEDED

            await until(pilot, "job SUCCEEDED, seen through B", ended)
            await until(pilot, "end of log noted", lambda: "SUCCEEDED" in log.store.text(len(log.store) - 1))
            shown = [log.store.text(i) for i in range(len(log.store)) if log.store.streams[i] != SYSTEM]
            # Resumed by sequence number: every line once, in order.
            assert shown == [f"line {i}" for i in range(1, 601)]
    finally:
        client.close()
