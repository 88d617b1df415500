"""Retries with real processes: --retries re-runs a failed attempt, and hodei job retry queues
a finished job again as its next attempt; job get lists every attempt."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.jobs import cli_json, detach, wait_state
from tests.support.processes import Cluster


def outcomes(job: dict[str, object]) -> list[tuple[object, object]]:
    attempts = job["attempts"]
    assert isinstance(attempts, list)
    return [(a["outcome"], a["worker_id"]) for a in attempts]


def test_retries_rerun_a_failed_attempt_and_job_get_lists_both(system: Cluster, job_dir: Path) -> None:
    marker = job_dir / "ran-once"
    script = f"if [ -e {marker} ]; then echo second; else touch {marker}; echo first; exit 3; fi"
    job_id = detach(system, "--retries", "1", "--retry-backoff", "0.1", "--", "sh", "-c", script)
    job = wait_state(system, job_id, "SUCCEEDED")
    assert [outcome for outcome, _ in outcomes(job)] == ["FAILED", "SUCCEEDED"]
    assert job["attempt"] == 2 and job["retry_backoff_seconds"] == 0.1
    text = system.hodei("job", "get", job_id).stdout.decode()
    assert "retry backoff: 0.1 s" in text and "exited with code 3" in text


def test_job_retry_queues_a_finished_job_again_and_refuses_a_running_one(
    system: Cluster, job_dir: Path
) -> None:
    go = job_dir / "go"
    job_id = detach(system, "--", "sh", "-c", f"echo run; [ -e {go} ]")
    wait_state(system, job_id, "FAILED")
    go.touch()  # the next attempt succeeds
    retried = cli_json(system, "job", "retry", job_id)
    assert isinstance(retried, dict) and retried["state"] == "PENDING"
    job = wait_state(system, job_id, "SUCCEEDED")
    assert [outcome for outcome, _ in outcomes(job)] == ["FAILED", "SUCCEEDED"]
    logs = system.hodei("job", "logs", job_id, "-o", "jsonl").stdout.splitlines()
    assert [(line["attempt"], line["line"]) for line in map(json.loads, logs)] == [(1, "run"), (2, "run")]

    running = detach(system, "--", "sleep", "30")
    wait_state(system, running, "RUNNING")
    refused = system.hodei("job", "retry", running)
    assert refused.returncode == 125
    assert f"job {running} is RUNNING, not finished" in refused.stderr.decode()
    assert system.hodei("job", "cancel", running).returncode == 0
