"""Job dependencies with real processes: a job --after another waits while it runs, is
explained as waiting on it and starts once it finished; when it fails the job ends CANCELLED
naming it, and a job --after-any it runs."""

from __future__ import annotations

import subprocess
import time
from datetime import datetime
from pathlib import Path

from tests.support.jobs import cli_json, detach, job_json, wait_state
from tests.support.processes import BIN, Cluster


def gated(go: Path, code: int = 0) -> list[str]:
    """A command that runs until ``go`` exists, then exits ``code``."""
    return ["sh", "-c", f"until [ -e {go} ]; do sleep 0.05; done; exit {code}"]


def moment(job: dict[str, object], key: str) -> datetime:
    value = job[key]
    assert isinstance(value, str)
    return datetime.fromisoformat(value)


def test_a_job_after_another_waits_for_it_and_runs_once_it_succeeded(system: Cluster, job_dir: Path) -> None:
    go = job_dir / "go"
    a = detach(system, "--name", "first", "--", *gated(go))
    wait_state(system, a, "RUNNING")
    argv = [str(BIN / "hodei"), "job", "run", "--name", "second", "--after", a[:8], "--", "echo", "b"]
    with subprocess.Popen(argv, env=system.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE) as run:
        assert run.stderr is not None
        b = newest(system, "second")
        # The worker has a free slot: only the dependency holds B back.
        explained = cli_json(system, "job", "explain", b)
        assert isinstance(explained, dict) and explained["state"] == "PENDING"
        [verdict] = explained["decisions"][0]["verdicts"]
        assert (verdict["target"], verdict["kind"], verdict["reason"]) == (
            a,
            "dependency",
            "WAITING_ON_DEPENDENCY",
        )
        assert "'first' is RUNNING" in verdict["message"]
        text = system.hodei("job", "explain", b).stdout.decode()
        assert f"WAITING_ON_DEPENDENCY: job {a} 'first' is RUNNING" in text
        # job run says why it waits (its first line on stderr), and B is still waiting then.
        note = run.stderr.readline().decode()
        assert note.startswith(
            f"hodei: job {b} is waiting: WAITING: 1 WAITING_ON_DEPENDENCY: job {a} 'first'"
        )
        assert job_json(system, b)["state"] == "PENDING"
        go.touch()
        out, _ = run.communicate(timeout=60)
    assert (run.returncode, out) == (0, b"b\n")
    first, second = job_json(system, a), job_json(system, b)
    assert (first["state"], second["state"], second["after"]) == ("SUCCEEDED", "SUCCEEDED", [a])
    assert moment(second, "started_at") >= moment(first, "finished_at")


def newest(system: Cluster, name: str, timeout: float = 30.0) -> str:
    """The id of the newest job called ``name``, once it is listed."""
    deadline = time.monotonic() + timeout
    while True:
        listed = cli_json(system, "job", "list")
        assert isinstance(listed, list)
        if found := [j["id"] for j in listed if j["name"] == name]:
            return str(found[0])
        assert time.monotonic() < deadline, f"no job {name} listed"
        time.sleep(0.1)


def test_when_a_job_fails_its_dependents_are_cancelled_and_after_any_runs(
    system: Cluster, job_dir: Path
) -> None:
    go = job_dir / "go"
    a = detach(system, "--", *gated(go, 3))
    b = detach(system, "--after", a, "--", "echo", "never")
    c = detach(system, "--after-any", a, "--", "echo", "cleanup")
    go.touch()
    wait_state(system, a, "FAILED")
    cancelled = wait_state(system, b, "CANCELLED")
    assert cancelled["reason"] == f"dependency {a} ended FAILED; --after needs it SUCCEEDED"
    assert cancelled["attempt"] == 0
    wait_state(system, c, "SUCCEEDED")
    assert system.hodei("job", "logs", c).stdout == b"cleanup\n"

    # Already failed at submit: job run says so and exits as for a cancelled job.
    late = system.hodei("job", "run", "--after", a[:6], "--", "echo", "never")
    assert late.returncode == 130
    assert f"ended CANCELLED: dependency {a} ended FAILED" in late.stderr.decode()


def test_an_unknown_dependency_is_refused(system: Cluster) -> None:
    result = system.hodei("job", "run", "--after", "5d8f2f6e-0000-4000-8000-000000000000", "--", "true")
    assert result.returncode == 125
    assert "no job 5d8f2f6e-0000-4000-8000-000000000000" in result.stderr.decode()
