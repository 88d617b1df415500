"""SIGTERM with a job running: the daemon exits 0 within 10 s, the worker keeps the job
running and reconnects, and the next daemon records how it ended."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from tests.support.jobs import wait_state
from tests.support.processes import Cluster

# The bound; hodeid bounds its own shutdown below it.
SHUTDOWN_BOUND = 10.0


@pytest.mark.parametrize("ends", ["after the restart", "while no daemon runs"])
def test_sigterm_keeps_the_running_job_and_the_next_daemon_records_it(
    system: Cluster, job_dir: Path, ends: str
) -> None:
    go = job_dir / "go"
    script = f"echo started; while [ ! -e {go} ]; do sleep 0.05; done; echo finished"
    result = system.hodei("job", "run", "--detach", "--", "sh", "-c", script)
    job_id = result.stdout.decode().strip()
    wait_state(system, job_id, "RUNNING")
    daemon = system.daemon
    assert daemon is not None
    daemon.send_signal(signal.SIGTERM)
    assert daemon.wait(SHUTDOWN_BOUND) == 0
    if ends == "while no daemon runs":
        go.touch()
        time.sleep(0.5)
    system.start_daemon()
    go.touch()
    done = wait_state(system, job_id, "SUCCEEDED", timeout=60)
    assert (done["attempt"], done["exit_code"]) == (1, 0)
    assert system.hodei("job", "logs", job_id).stdout == b"started\nfinished\n"


def test_a_job_writing_through_a_daemon_restart_loses_no_line(system: Cluster, job_dir: Path) -> None:
    go = job_dir / "go"
    script = f"i=0; while [ ! -e {go} ]; do i=$((i+1)); echo $i; sleep 0.005; done; echo finished"
    job_id = system.hodei("job", "run", "--detach", "--", "sh", "-c", script).stdout.decode().strip()
    wait_state(system, job_id, "RUNNING")
    time.sleep(0.5)
    daemon = system.daemon
    assert daemon is not None
    daemon.send_signal(signal.SIGTERM)
    assert daemon.wait(SHUTDOWN_BOUND) == 0
    system.start_daemon()
    time.sleep(0.5)
    go.touch()
    wait_state(system, job_id, "SUCCEEDED", timeout=60)
    lines = system.hodei("job", "logs", job_id).stdout.decode().splitlines()
    assert lines[-1] == "finished"
    assert lines[:-1] == [str(i) for i in range(1, len(lines))], "every line once, in order"
