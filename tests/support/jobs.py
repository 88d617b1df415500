"""Asking a test cluster about jobs and workers through the real ``hodei`` CLI."""

from __future__ import annotations

import json
import time

from tests.support.processes import Cluster


def cli_json(c: Cluster, *args: str) -> object:
    """``hodei ARGS -o json``, parsed; the command must succeed."""
    result = c.hodei(*args, "-o", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def job_json(c: Cluster, job_id: str) -> dict[str, object]:
    """``hodei job get ID -o json``."""
    data = cli_json(c, "job", "get", job_id)
    assert isinstance(data, dict)
    return data


def wait_state(c: Cluster, job_id: str, state: str, timeout: float = 30.0) -> dict[str, object]:
    """Poll until the job is in ``state``; fail saying where it is stuck."""
    deadline = time.monotonic() + timeout
    while (job := job_json(c, job_id))["state"] != state:
        assert time.monotonic() < deadline, f"job {job_id} is {job['state']}, not {state}"
        time.sleep(0.1)
    return job


def detach(c: Cluster, *args: str) -> str:
    """``hodei job run --detach ARGS``: the new job's id."""
    result = c.hodei("job", "run", "--detach", *args)
    assert result.returncode == 0, result.stderr
    return result.stdout.decode().strip()


def live_worker(c: Cluster, worker_id: str | None = None, timeout: float = 30.0) -> dict[str, object]:
    """The live worker (the one with ``worker_id``), once the daemon lists it as streaming to
    it (not one it lists from the record of another daemon's streams)."""
    deadline = time.monotonic() + timeout
    while True:
        workers = cli_json(c, "worker", "list")
        assert isinstance(workers, list)
        found = [w for w in workers if worker_id in (None, w["id"]) and not w["from_record"]]
        if found:
            return dict(found[0])
        assert time.monotonic() < deadline, f"no live worker {worker_id or ''}\n{c.logs()}"
        time.sleep(0.1)
