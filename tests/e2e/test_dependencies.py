"""Job dependencies with real processes: a job --after another waits while it runs, is
explained as waiting on it and starts once it finished; when it fails the job ends CANCELLED
naming it, and a job --after-any it runs."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from tests.support.jobs import cli_json, detach, job_json, wait_state
from tests.support.processes import Cluster


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
    b = detach(system, "--after", a[:8], "--", "echo", "second")
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
    assert job_json(system, b)["state"] == "PENDING"
    go.touch()
    first = wait_state(system, a, "SUCCEEDED")
    second = wait_state(system, b, "SUCCEEDED")
    assert second["after"] == [a]
    assert moment(second, "started_at") >= moment(first, "finished_at")


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
