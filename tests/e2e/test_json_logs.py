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
