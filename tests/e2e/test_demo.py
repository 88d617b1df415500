"""``scripts/demo.sh``: it runs the demo and, without a terminal, stops what it started; when a
step fails it stops what it started, by PID, and says in one line which step failed and where
its log is, with no traceback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.processes import free_port
from tests.support.procfs import processes_naming

DEMO = Path(__file__).resolve().parents[2] / "scripts" / "demo.sh"


@pytest.fixture
def addr() -> Iterator[str]:
    """A free address for the demo's hodeid; whatever still names it afterwards is killed."""
    addr = f"127.0.0.1:{free_port()}"
    yield addr
    for pid in processes_naming(addr):
        os.kill(pid, signal.SIGKILL)


def demo(addr: str, database_url: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """demo.sh without a terminal, on the test's database, its files under ``tmp_path``."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HODEI_")},
        "HODEI_VENV": str(Path(sys.executable).parent.parent),
        "HODEI_ADDR": addr,
        "HODEI_DATABASE_URL": database_url,
        "HODEI_DATA_DIR": str(tmp_path / "data"),
        "HODEI_STATE_DIR": str(tmp_path / "worker-state"),
        "HODEI_DEMO_DIR": str(tmp_path / "demo"),
        "HODEI_CONFIG": "/nonexistent/hodeid.toml",
        **env,
    }
    return subprocess.run(
        ["bash", str(DEMO)], env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=180
    )


def test_the_demo_runs_its_job_and_stops_what_it_started(
    addr: str, database_url: str, tmp_path: Path
) -> None:
    result = demo(addr, database_url, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "hello from hodei on " in result.stdout and "step 3\n" in result.stdout
    assert result.stderr == "a line on stderr\n"
    assert processes_naming(addr) == []


def test_a_failed_step_stops_what_it_started_and_says_so_in_one_line(
    addr: str, database_url: str, tmp_path: Path
) -> None:
    result = demo(addr, database_url, tmp_path, HODEI_TOKEN="not-a-token")
    assert result.returncode == 1
    assert "listening on" in (tmp_path / "demo" / "hodeid.log").read_text(), "hodeid did not start"
    assert processes_naming(addr) == [], "hodeid was left running"
    assert "Traceback" not in result.stdout + result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith("demo.sh: asking hodeid for its workers (hodei worker list) failed (exit 125): ")
    assert "the bearer token is not valid here" in line
    assert line.endswith(f"; log: {tmp_path / 'demo' / 'hodei.log'}")
