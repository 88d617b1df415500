"""hodei worker drain with real processes: no new jobs go to the worker, the running one
finishes, then the worker exits, or with --stay stays connected and idle."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from tests.support.jobs import cli_json, detach, job_json, wait_state
from tests.support.processes import Cluster, cluster


def exited(proc: subprocess.Popen[bytes], timeout: float = 30.0) -> int | None:
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        return None


def test_drain_lets_the_running_job_finish_takes_no_new_one_then_the_worker_exits(
    database_url: str, tmp_path: Path, job_dir: Path
) -> None:
    with cluster(database_url, tmp_path) as c:
        worker = c.start_worker("--id", "w1", "--slots", "2")
        go = job_dir / "go"
        first = detach(c, "--", "sh", "-c", f"while [ ! -e {go} ]; do sleep 0.05; done; echo done")
        wait_state(c, first, "RUNNING")
        drained = c.hodei("worker", "drain", "w1")
        assert drained.returncode == 0, drained.stderr
        second = detach(c, "--", "echo", "never here")
        assert job_json(c, second)["state"] == "PENDING"
        go.touch()  # the running job may end now
        assert wait_state(c, first, "SUCCEEDED")["worker_id"] == "w1"
        assert exited(worker) == 0
        assert job_json(c, second)["state"] == "PENDING"
        assert cli_json(c, "worker", "list") == []


def test_drain_with_stay_keeps_the_idle_worker_connected(bare: Cluster) -> None:
    worker = bare.start_worker("--id", "w1")
    deadline = time.monotonic() + 30
    while not cli_json(bare, "worker", "list"):
        assert time.monotonic() < deadline, "the worker never connected"
        time.sleep(0.1)
    info = cli_json(bare, "worker", "drain", "w1", "--stay")
    assert isinstance(info, dict) and info["draining"] is True
    job = detach(bare, "--", "true")
    # The scheduler has looked at it and said why the worker is not taking it.
    while "DRAINING" not in bare.hodei("job", "explain", job, "-v").stdout.decode():
        assert time.monotonic() < deadline, "the job was never explained as waiting on a draining worker"
        time.sleep(0.1)
    assert job_json(bare, job)["state"] == "PENDING"
    assert worker.poll() is None
    listed = cli_json(bare, "worker", "list")
    assert isinstance(listed, list) and [(w["id"], w["draining"]) for w in listed] == [("w1", True)]
