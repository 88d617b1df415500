"""A unique prefix of a job id, as the console and the README show ids, works wherever the
CLI takes an id; real hodeid, worker and hodei processes."""

from __future__ import annotations

import json

from tests.support.jobs import cli_json, detach, wait_state
from tests.support.processes import Cluster


def test_a_prefix_works_for_get_logs_explain_retry_and_cancel(system: Cluster) -> None:
    job_id = detach(system, "--", "sh", "-c", "echo hello")
    wait_state(system, job_id, "SUCCEEDED")
    short = job_id[:8]
    got = cli_json(system, "job", "get", short)
    assert isinstance(got, dict) and got["id"] == job_id
    logs = system.hodei("job", "logs", short)
    assert (logs.returncode, logs.stdout) == (0, b"hello\n"), logs.stderr
    explained = cli_json(system, "job", "explain", short)
    assert isinstance(explained, dict) and explained["state"] == "SUCCEEDED"
    decisions = explained["decisions"]
    assert isinstance(decisions, list) and decisions[0]["outcome"] == "PLACED"
    retried = cli_json(system, "job", "retry", short)
    assert isinstance(retried, dict) and retried["id"] == job_id
    wait_state(system, job_id, "SUCCEEDED")

    running = detach(system, "--", "sleep", "30")
    wait_state(system, running, "RUNNING")
    cancelled = system.hodei("job", "cancel", running[:6], "-o", "json")
    assert cancelled.returncode == 0, cancelled.stderr
    assert json.loads(cancelled.stdout)["id"] == running
    wait_state(system, running, "CANCELLED")


def test_a_prefix_of_no_job_says_so(system: Cluster) -> None:
    result = system.hodei("job", "get", "0000")  # a new cluster has no job at all
    assert result.returncode == 125
    assert result.stderr == b"hodei: no job id starts with '0000' (see hodei job list)\n"
