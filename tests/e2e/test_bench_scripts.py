"""The benchmark scripts start their daemons and workers through scripts/bench/system.py: a
small run, as scripts/bench.sh makes, exits 0, and no process of the system is left once the
script has ended, whether its run ended well or it was stopped by SIGTERM (figures are never
asserted here)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.procfs import adopting_orphans, children, descendants

BENCH = Path(__file__).resolve().parents[2] / "scripts" / "bench"


def bench(script: str, *args: str) -> list[str]:
    return [sys.executable, str(BENCH / script), *args]


def running_a_job(pid: int) -> bool:
    """Whether a hodei-worker below ``pid`` has a job (its child) running."""
    for below in descendants(pid):
        try:
            worker = b"hodei-worker" in Path(f"/proc/{below}/cmdline").read_bytes()
        except OSError:
            continue  # it ended while we looked
        if worker and not all(children(below).values()):
            return True
    return False


@pytest.mark.parametrize(
    "argv",
    [
        # As scripts/bench.sh runs them: an embedded PostgreSQL of its own.
        bench("submit.py", "--n", "300"),
        # Two daemons and a worker; on the test's database, which is quicker to have.
        bench("cross_daemon_logs.py", "--lines", "20"),
    ],
    ids=["submit", "cross_daemon_logs"],
)
def test_a_small_run_exits_0_and_leaves_no_process(argv: list[str], database_url: str) -> None:
    if "cross_daemon_logs.py" in argv[1]:
        argv = [*argv, "--database-url", database_url]
    with adopting_orphans() as left:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=90, check=False)
        assert done.returncode == 0, done.stderr[-3000:]
        assert "p50" in done.stdout
        assert left() == []


def test_sigterm_ends_every_process_the_script_started() -> None:
    with adopting_orphans() as left:
        script = subprocess.Popen(
            bench("cross_daemon_logs.py", "--lines", "2000"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            # The worker runs the job: both daemons, the worker and its job are up.
            deadline = time.monotonic() + 60
            while not running_a_job(script.pid):
                assert script.poll() is None, f"the script exited {script.returncode}"
                assert time.monotonic() < deadline, f"no job below: {descendants(script.pid)}"
                time.sleep(0.05)
            os.kill(script.pid, signal.SIGTERM)
            code = script.wait(60)
        finally:
            if script.poll() is None:
                script.kill()
                script.wait()
        assert left() == []
        assert code == 128 + signal.SIGTERM  # it ended by its own exit, having cleaned up


def test_idle_workers_stream_from_the_script_itself_and_leave_no_process(database_url: str) -> None:
    # The workers are hodei-worker's own agents inside the script; hodeid on a scratch database
    # of the test's server.
    argv = bench("idle_workers.py", "--workers", "20", "--seconds", "1", "--database-url", database_url)
    with adopting_orphans() as left:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=90, check=False)
        assert done.returncode == 0, done.stderr[-3000:]
        assert "still connected     20 of 20, 0 reconnects" in done.stdout
        assert "hodeid CPU" in done.stdout
        assert left() == []
