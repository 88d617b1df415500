"""How ``hodei job run`` says a job ended when that was not a plain exit, what it says between
attempts, and what ``job list`` shows for a job waiting to be retried; real processes."""

from __future__ import annotations

import subprocess
import time

from tests.support.jobs import cli_json, detach, job_json, wait_state
from tests.support.processes import BIN, Cluster


def test_retries_are_told_between_attempts_and_the_exit_is_the_jobs(system: Cluster) -> None:
    result = system.hodei(
        "job", "run", "--retries", "2", "--retry-backoff", "0.5", "--", "sh", "-c", "exit 5"
    )
    err = result.stderr.decode()
    assert result.returncode == 5, err
    assert "attempt 1 failed (exit 5); attempt 2 of 3" in err
    assert "attempt 2 failed (exit 5); attempt 3 of 3" in err
    assert "is waiting: PLACED" not in err


def test_a_timeout_says_so(system: Cluster) -> None:
    result = system.hodei("job", "run", "--timeout", "0.5", "--", "sleep", "30")
    assert result.returncode == 124
    assert "ended TIMED_OUT: timed out after 0.5 s" in result.stderr.decode()


def test_a_signal_says_so(system: Cluster) -> None:
    result = system.hodei("job", "run", "--", "sh", "-c", "kill -KILL $$")
    assert result.returncode == 137
    assert "ended FAILED: killed by signal 9" in result.stderr.decode()


def test_a_cancel_says_by_whom_and_why(system: Cluster) -> None:
    run = subprocess.Popen(
        [str(BIN / "hodei"), "job", "run", "--name", "to-cancel", "--", "sleep", "30"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=system.env(),
    )
    try:
        deadline = time.monotonic() + 30
        while not (jobs := cli_json(system, "job", "list", "--state", "RUNNING")):
            assert time.monotonic() < deadline, system.logs()
            time.sleep(0.1)
        assert isinstance(jobs, list)
        assert system.hodei("job", "cancel", jobs[0]["id"], "--reason", "deploy aborted").returncode == 0
        _, err = run.communicate(timeout=60)
    finally:
        run.kill()
        run.wait()
    assert run.returncode == 130
    # The admin.token's name: admin-ID.
    assert "ended CANCELLED: deploy aborted (cancelled by admin-" in err.decode()


def test_job_list_shows_no_exit_for_a_job_waiting_to_be_retried(system: Cluster) -> None:
    job_id = detach(system, "--retries", "1", "--retry-backoff", "600", "--", "sh", "-c", "exit 5")
    deadline = time.monotonic() + 30
    while not ((job := job_json(system, job_id))["state"] == "PENDING" and job["attempt"] == 1):
        assert time.monotonic() < deadline, job
        time.sleep(0.1)
    assert job["exit_code"] is None
    attempts = job["attempts"]
    assert isinstance(attempts, list) and attempts[0]["exit_code"] == 5
    row = next(line for line in system.hodei("job", "list").stdout.decode().splitlines() if job_id in line)
    # STATE ATTEMPT WORKER EXIT AGE, after the name (the command here).
    assert row.split()[-5:-1] == ["PENDING", "1", "-", "-"]
    assert system.hodei("job", "cancel", job_id).returncode == 0
    wait_state(system, job_id, "CANCELLED")
