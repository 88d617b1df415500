"""Placement seen from the CLI against real processes: selectors, resources, priorities,
and the explanation of every decision."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
import pytest

from tests.support.jobs import cli_json, detach, job_json, wait_state
from tests.support.processes import Cluster, cluster


@pytest.fixture
def two_workers(database_url: str, tmp_path: Path) -> Iterator[Cluster]:
    workers = [["--id", "plain", "--slots", "2", "--label", "gpu=false", "--cpu", "2"],
               ["--id", "gpu", "--slots", "1", "--label", "gpu=true", "--cpu", "2"]]  # fmt: skip
    with cluster(database_url, tmp_path, workers=workers) as c:
        wait_workers(c, 2)
        yield c


def wait_workers(c: Cluster, count: int) -> None:
    deadline = time.monotonic() + 15
    while len(json.loads(c.hodei("worker", "list", "-o", "json").stdout)) < count:
        assert time.monotonic() < deadline, "workers did not connect"
        time.sleep(0.1)


def explain(c: Cluster, job_id: str) -> dict[str, object]:
    data = cli_json(c, "job", "explain", job_id)
    assert isinstance(data, dict)
    return data


def placed(c: Cluster, job_id: str) -> dict[str, object]:
    """The job's newest decision once it is PLACED: the trace is stored once the job is on its
    way, so a job may have run before its decision is read back."""
    deadline = time.monotonic() + 30
    while True:
        decisions = explain(c, job_id)["decisions"]
        assert isinstance(decisions, list)
        if decisions and decisions[0]["outcome"] == "PLACED":
            return dict(decisions[0])
        assert time.monotonic() < deadline, f"no PLACED decision for job {job_id}: {decisions}"
        time.sleep(0.1)


def verdicts(decision: dict[str, object]) -> dict[str, tuple[str, str]]:
    found = decision["verdicts"]
    assert isinstance(found, list)
    return {v["target"]: (v["reason"], v["message"]) for v in found}


def test_selector_runs_on_the_matching_worker_and_explains_the_other(two_workers: Cluster) -> None:
    result = two_workers.hodei("job", "run", "--selector", "gpu=true", "--", "true")
    assert result.returncode == 0, result.stderr
    job_id = json.loads(two_workers.hodei("job", "list", "-o", "json").stdout)[0]["id"]
    newest = placed(two_workers, job_id)
    assert newest["worker_id"] == "gpu"
    assert verdicts(newest)["plain"] == ("SELECTOR_MISMATCH", "label gpu=true: worker has gpu=false")
    text = two_workers.hodei("job", "explain", job_id, "-v").stdout.decode()
    assert "SELECTOR_MISMATCH" in text and "label gpu=true: worker has gpu=false" in text


def test_a_job_no_worker_matches_waits_explained_until_one_connects(two_workers: Cluster) -> None:
    job_id = detach(two_workers, "--selector", "zone=mars", "--", "true")
    time.sleep(1)
    assert job_json(two_workers, job_id)["state"] == "PENDING"
    now = explain(two_workers, job_id)["decisions"][0]  # type: ignore[index]
    assert now["outcome"] in ("UNPLACEABLE", "WAITING")
    assert verdicts(now)["gpu"] == ("SELECTOR_MISMATCH", "label zone=mars: worker has none")
    two_workers.start_worker("--id", "rover", "--label", "zone=mars")
    wait_state(two_workers, job_id, "SUCCEEDED")
    assert job_json(two_workers, job_id)["worker_id"] == "rover"


def test_too_much_cpu_is_explained_with_the_numbers(two_workers: Cluster) -> None:
    job_id = detach(two_workers, "--cpu", "64", "--", "true")
    now = explain(two_workers, job_id)["decisions"][0]  # type: ignore[index]
    assert verdicts(now)["plain"] == ("CPU_EXHAUSTED", "cpu: needs 64, has 2 in all")


def test_run_says_why_it_waits_and_gives_up_after_the_wait_timeout(two_workers: Cluster) -> None:
    result = two_workers.hodei("job", "run", "--selector", "zone=mars", "--wait-timeout", "2", "--", "true")
    assert result.returncode == 125
    lines = result.stderr.decode().splitlines()
    assert "is waiting: UNPLACEABLE" in lines[0] and "SELECTOR_MISMATCH" in lines[0]
    assert "gave up" in lines[-1]
    job = json.loads(two_workers.hodei("job", "list", "-o", "json").stdout)[0]
    assert job["state"] == "CANCELLED"


def test_priority_goes_first_and_an_unplaceable_urgent_job_blocks_nothing(
    database_url: str, tmp_path: Path
) -> None:
    with cluster(database_url, tmp_path, workers=[["--id", "only", "--slots", "1"]]) as c:
        wait_workers(c, 1)
        blocker = detach(c, "--", "sleep", "60")
        wait_state(c, blocker, "RUNNING")
        low = [detach(c, "--priority", "1", "--", "true") for _ in range(20)]
        stuck = detach(c, "--priority", "9", "--selector", "zone=mars", "--", "true")
        urgent = detach(c, "--priority", "9", "--", "true")
        assert c.hodei("job", "cancel", blocker).returncode == 0
        wait_state(c, blocker, "CANCELLED")
        wait_state(c, low[-1], "SUCCEEDED", timeout=60)
        started = {j: str(job_json(c, j)["started_at"]) for j in [urgent, *low]}
        assert min(started, key=lambda j: started[j]) == urgent
        assert job_json(c, stuck)["state"] == "PENDING"


@contextmanager
def decisions_locked(database_url: str) -> Iterator[None]:
    """Another session holds the decisions table in SHARE mode: reads go on, inserts wait."""
    held, release = threading.Event(), threading.Event()
    failed: list[BaseException] = []

    async def hold() -> None:
        conn = await asyncpg.connect(database_url)
        try:
            async with conn.transaction():
                await conn.execute("LOCK TABLE decisions IN SHARE MODE")
                held.set()
                await asyncio.get_running_loop().run_in_executor(None, release.wait)
        finally:
            await conn.close()

    def run() -> None:
        try:
            asyncio.run(hold())
        except BaseException as exc:
            failed.append(exc)
            held.set()

    thread = threading.Thread(target=run)
    thread.start()
    try:
        assert held.wait(30) and not failed, failed
        yield
    finally:
        release.set()
        thread.join(30)


def test_a_stalled_write_of_the_decision_trace_does_not_hold_the_job_back(
    database_url: str, tmp_path: Path
) -> None:
    """The trace is stored once the job is on its way; it is stored all the same."""
    with cluster(database_url, tmp_path, workers=[["--slots", "1"]]) as c:
        wait_workers(c, 1)
        with decisions_locked(database_url):
            job_id = detach(c, "--", "true")
            wait_state(c, job_id, "SUCCEEDED", timeout=60)
        placed(c, job_id)
