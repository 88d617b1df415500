"""``hodeid --log-format json``: every line of a real daemon is a JSON object, and the lines
about a job and a worker carry their ids as fields."""

from __future__ import annotations

import json

from tests.support.processes import Cluster


def test_json_lines_carry_job_and_worker_ids(bare: Cluster) -> None:
    bare.close()
    bare.start_daemon("--log-format", "json")
    worker = bare.start_worker("--id", "json-worker")
    result = bare.hodei("job", "run", "--", "true")
    assert result.returncode == 0, result.stderr
    bare.close()
    assert worker.returncode is not None
    text = (bare.log_dir / "hodeid.log").read_text()
    # The first daemon of the fixture logged as people read; the second one is the test.
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    assert all({"ts", "level", "logger", "message"} <= line.keys() for line in lines)
    assert any(line.get("worker_id") == "json-worker" for line in lines)
    job_ids = {line["job_id"] for line in lines if "job_id" in line}
    assert len(job_ids) == 1


def test_every_line_is_json_with_a_local_worker_running_a_job(make: Cluster) -> None:
    make.local_provider = True
    make.start_daemon("--log-format", "json", "--local-max", "1")
    result = make.hodei("job", "run", "--", "sh", "-c", "echo out; echo err >&2")
    assert (result.returncode, result.stdout, result.stderr) == (0, b"out\n", b"err\n")
    # Stopping the daemon stops its worker, which says so: its last lines are relayed too.
    make.close()
    lines = (make.log_dir / "hodeid.log").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert all({"ts", "level", "logger", "message"} <= record.keys() for record in records)
    relayed = [record for record in records if record["logger"] == "hodei-worker"]
    (worker_id,) = {record["worker_id"] for record in relayed}
    assert worker_id.startswith("local-")
    connected = f"{worker_id}: connected to {make.addr} as {worker_id} (slots 1)"
    assert connected in [record["message"] for record in relayed]
