"""`hodei job run` and friends against real processes: the acceptance of the end-to-end flow."""

from __future__ import annotations

import json
import time
import uuid

from tests.support.jobs import job_json, wait_state
from tests.support.processes import Cluster, free_port


def test_run_streams_stdout_and_stderr_apart_and_exits_with_the_job_code(system: Cluster) -> None:
    result = system.hodei("job", "run", "--", "sh", "-c", "echo out; echo err >&2; exit 3")
    assert (result.stdout, result.stderr, result.returncode) == (b"out\n", b"err\n", 3)


def test_detach_prints_only_the_id_and_the_job_succeeds(system: Cluster) -> None:
    result = system.hodei("job", "run", "--detach", "--", "true")
    assert result.returncode == 0, result.stderr
    job_id = result.stdout.decode().strip()
    uuid.UUID(job_id)
    job = wait_state(system, job_id, "SUCCEEDED", timeout=30)
    assert job["exit_code"] == 0 and job["attempt"] == 1 and job["worker_id"]
    assert {"id", "name", "created_at", "started_at", "finished_at"} <= job.keys()


def test_every_field_reaches_the_job(system: Cluster, tmp_path: object) -> None:
    result = system.hodei(
        "job", "run", "--name", "fields", "--env", "GREETING=hi there", "--cwd", "/tmp",
        "--priority", "5", "--", "sh", "-c", 'echo "$GREETING from $(pwd)"',
    )  # fmt: skip
    assert (result.stdout, result.returncode) == (b"hi there from /tmp\n", 0), result.stderr


def test_death_by_signal_exits_128_plus_n(system: Cluster) -> None:
    result = system.hodei("job", "run", "--", "sh", "-c", "kill -9 $$")
    assert result.returncode == 137


def test_a_missing_program_fails_with_127_and_says_why(system: Cluster) -> None:
    result = system.hodei("job", "run", "--", "no-such-program-hodei")
    assert result.returncode == 127
    assert b"no-such-program-hodei" in result.stderr


def test_a_job_queued_with_no_worker_runs_when_one_connects(bare: Cluster) -> None:
    job_id = bare.hodei("job", "run", "--detach", "--", "echo", "late").stdout.decode().strip()
    time.sleep(1.0)
    assert job_json(bare, job_id)["state"] == "PENDING"
    bare.start_worker()
    wait_state(bare, job_id, "SUCCEEDED")
    assert bare.hodei("job", "logs", job_id).stdout == b"late\n"


def test_logs_after_the_job_and_followed_during_it(system: Cluster) -> None:
    script = "for i in $(seq 1 50); do echo line$i; sleep 0.02; done; echo done >&2"
    job_id = system.hodei("job", "run", "--detach", "--", "sh", "-c", script).stdout.decode().strip()
    followed = system.hodei("job", "logs", job_id, "-f")
    expected = "".join(f"line{i}\n" for i in range(1, 51)).encode()
    assert (followed.returncode, followed.stdout, followed.stderr) == (0, expected, b"done\n")
    after = system.hodei("job", "logs", job_id, "-o", "jsonl")
    records = [json.loads(line) for line in after.stdout.decode().splitlines()]
    assert [r["seq"] for r in records] == list(range(1, 52))
    assert records[0]["line"] == "line1" and records[0]["stream"] == "stdout"
    assert records[-1] == records[-1] | {"line": "done", "stream": "stderr"}


def test_a_hundred_thousand_lines_reach_follower_and_storage_in_order(system: Cluster) -> None:
    result = system.hodei("job", "run", "--", "seq", "100000", timeout=120)
    expected = "".join(f"{i}\n" for i in range(1, 100001)).encode()
    assert result.returncode == 0 and result.stdout == expected
    listed = json.loads(system.hodei("job", "list", "-o", "json").stdout)
    stored = system.hodei("job", "logs", listed[0]["id"], timeout=120)
    assert stored.stdout == expected


def test_history_survives_a_daemon_restart(system: Cluster) -> None:
    job_id = system.hodei("job", "run", "--detach", "--", "echo", "kept").stdout.decode().strip()
    wait_state(system, job_id, "SUCCEEDED")
    system.close()
    system.workers.clear()
    system.start_daemon()
    assert job_json(system, job_id)["state"] == "SUCCEEDED"
    assert system.hodei("job", "logs", job_id).stdout == b"kept\n"


def test_refusals_are_one_line_exit_125_and_store_nothing(system: Cluster) -> None:
    for args in (["job", "run", "--"], ["job", "run", "--bogus", "--", "true"], ["job", "run"]):
        result = system.hodei(*args)
        assert result.returncode == 125, (args, result.stderr)
        assert result.stderr.startswith(b"hodei: ") and result.stderr.count(b"\n") == 1, result.stderr
    assert json.loads(system.hodei("job", "list", "-o", "json").stdout) == []


def test_an_unreachable_daemon_is_one_line_and_125(system: Cluster) -> None:
    result = system.hodei("--addr", f"127.0.0.1:{free_port()}", "job", "run", "--", "true")
    assert result.returncode == 125
    assert result.stderr.startswith(b"hodei: ") and result.stderr.count(b"\n") == 1
