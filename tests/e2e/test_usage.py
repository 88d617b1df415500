"""What each attempt used, end to end: a real worker reaps the job's process with wait4, the
daemon stores it and sums it in its metrics, and the CLI shows it."""

from __future__ import annotations

import time
from typing import Any

from tests.support.jobs import detach, job_json, wait_state
from tests.support.metrics import scrape
from tests.support.processes import Cluster, free_port, wait_port

MB = 1 << 20
# Touches every byte of 300 MB, then spins until it used half a second of CPU in user mode.
HOG = (
    "import resource; x = b'x' * (300 << 20)\n"
    "while resource.getrusage(resource.RUSAGE_SELF).ru_utime < 0.5: pass"
)


def _counted(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str) -> float:
    return samples.get((name, (("outcome", "SUCCEEDED"),)), 0.0)


def test_a_job_that_allocates_300_mb_and_spins_reports_it(bare: Cluster) -> None:
    port = free_port()
    bare.close()
    daemon = bare.start_daemon("--metrics-listen", f"127.0.0.1:{port}")
    wait_port(port, daemon)
    bare.start_worker("--slots", "1")
    # Not this interpreter: run as root, the worker runs jobs as nobody, who may not reach it.
    job_id = detach(bare, "--", "python3", "-c", HOG)
    job = wait_state(bare, job_id, "SUCCEEDED", timeout=60)
    attempts: list[dict[str, Any]] = job["attempts"]  # type: ignore[assignment]
    [attempt] = attempts
    usage = attempt["usage"]
    assert usage["max_rss_bytes"] >= 300 * MB
    assert usage["cpu_user_seconds"] >= 0.3
    assert usage["cpu_system_seconds"] >= 0
    assert usage["wall_seconds"] >= usage["cpu_user_seconds"]
    assert job["usage"] == usage  # one attempt: the job's totals are its own

    text = bare.hodei("job", "get", job_id)
    assert text.returncode == 0, text.stderr
    lines = text.stdout.decode().splitlines()
    assert "CPU USER  CPU SYS  MAX RSS  WALL" in lines[-2]
    assert any(line.startswith("usage:") and "peak" in line for line in lines)

    wide = bare.hodei("job", "list", "-o", "wide")
    assert wide.returncode == 0, wide.stderr
    header, row = wide.stdout.decode().splitlines()
    assert header.split()[-3:] == ["CPU", "MAX", "RSS"]
    assert row.startswith(job_id) and row.endswith("MiB")

    samples = scrape(port)
    assert _counted(samples, "hodei_attempts_measured_total") == 1
    assert _counted(samples, "hodei_attempt_max_rss_bytes_total") == usage["max_rss_bytes"]
    assert _counted(samples, "hodei_attempt_cpu_user_seconds_total") == usage["cpu_user_seconds"]
    assert _counted(samples, "hodei_attempt_cpu_system_seconds_total") == usage["cpu_system_seconds"]
    assert _counted(samples, "hodei_attempt_wall_seconds_total") == usage["wall_seconds"]


def test_an_ordinary_job_reports_its_wall_time(system: Cluster) -> None:
    began = time.monotonic()
    result = system.hodei("job", "run", "--", "sh", "-c", "sleep 0.5; echo done")
    elapsed = time.monotonic() - began
    assert (result.stdout, result.returncode) == (b"done\n", 0), result.stderr
    listed = system.hodei("job", "list", "-o", "json")
    job_id = listed.stdout.decode().split('"id": "')[1].split('"')[0]
    usage = job_json(system, job_id)["attempts"][0]["usage"]  # type: ignore[index]
    assert 0.5 <= usage["wall_seconds"] <= elapsed
    assert 0 <= usage["cpu_user_seconds"] < 0.5
