"""What a job and a reader may not see: the worker's HODEI_* credentials stay out of jobs, a
root worker runs jobs as nobody (so root's files stay closed to them), and a read token sees
the names of a job's variables but not their values."""

from __future__ import annotations

import json
import os
import pwd
from pathlib import Path

import pytest

from tests.support.jobs import detach, job_json, wait_state
from tests.support.processes import Cluster

AS_ROOT = pytest.mark.skipif(
    os.geteuid() != 0, reason="only a worker running as root switches the job's user"
)


def environment(output: bytes) -> dict[str, str]:
    """``env``'s output as a mapping."""
    return dict(line.partition("=")[::2] for line in output.decode().splitlines())


def nobody_uid() -> int:
    return pwd.getpwnam("nobody").pw_uid


def test_no_hodei_variable_of_the_worker_reaches_the_job_nor_its_log(bare: Cluster) -> None:
    join = (bare.data_dir / "join.token").read_text().strip()
    admin = bare.admin_token()
    # As the README starts a worker: the join token in its environment, and some more.
    bare.start_worker(env={"HODEI_JOIN_TOKEN": join, "HODEI_TOKEN": admin, "HODEI_API_KEY": "k-1"})
    result = bare.hodei("job", "run", "--env", "GREETING=hi", "--env", "HODEI_MINE=mine", "--", "env")
    assert result.returncode == 0, result.stderr
    env = environment(result.stdout)
    assert (env["GREETING"], env["HODEI_MINE"]) == ("hi", "mine"), "the job's own variables reach it"
    assert [name for name in env if name.startswith("HODEI_")] == ["HODEI_MINE"]
    job_id = json.loads(bare.hodei("job", "list", "-o", "json").stdout)[0]["id"]
    stored = bare.hodei("job", "logs", job_id).stdout.decode()
    assert join not in stored and admin not in stored and "k-1" not in stored


@AS_ROOT
def test_a_root_worker_runs_jobs_as_nobody_and_as_root_only_when_told(bare: Cluster) -> None:
    bare.start_worker("--label", "as=default")
    bare.start_worker("--label", "as=root", "--job-user", "root")
    default = bare.hodei(
        "job", "run", "--selector", "as=default", "--", "sh", "-c", "id -u; echo $HOME $USER"
    )
    assert default.stdout.decode().split() == [str(nobody_uid()), pwd.getpwnam("nobody").pw_dir, "nobody"]
    rooted = bare.hodei("job", "run", "--selector", "as=root", "--", "id", "-u")
    assert rooted.stdout == b"0\n", rooted.stderr
    assert "jobs run as root (--job-user root)" in bare.logs()


@AS_ROOT
def test_a_job_cannot_read_root_only_files(system: Cluster, job_dir: Path) -> None:
    secret = job_dir / "secret"
    secret.write_text("root's secret\n")
    secret.chmod(0o600)
    for path in (secret, system.data_dir / "admin.token"):
        result = system.hodei("job", "run", "--", "cat", str(path))
        assert result.returncode == 1, f"the job read {path}"
        assert result.stdout == b"" and b"Permission denied" in result.stderr


@AS_ROOT
def test_a_cwd_the_job_user_cannot_enter_fails_the_job_and_says_why(system: Cluster, tmp_path: Path) -> None:
    result = system.hodei("job", "run", "--cwd", str(tmp_path), "--", "pwd")
    assert result.returncode == 126
    assert "the job user 'nobody'" in result.stderr.decode() and "cannot enter it" in result.stderr.decode()
    assert result.stdout == b""
    after = system.hodei("job", "run", "--", "echo", "the worker runs on")
    assert (after.returncode, after.stdout) == (0, b"the worker runs on\n")


def test_a_read_token_sees_env_names_without_values_and_an_admin_sees_both(system: Cluster) -> None:
    job_id = detach(system, "--env", "PASSWORD=hunter2", "--", "true")
    wait_state(system, job_id, "SUCCEEDED")
    made = system.hodeid("token", "create", "--role", "read", "--name", "reader")
    assert made.returncode == 0, made.stderr
    reader = {"HODEI_TOKEN": made.stdout.decode().strip()}
    got = system.hodei("job", "get", job_id, "-o", "json", env=reader)
    listed = system.hodei("job", "list", "-o", "json", env=reader)
    assert json.loads(got.stdout)["env"] == {"PASSWORD": "***"}, got.stderr
    assert [job["env"] for job in json.loads(listed.stdout)] == [{"PASSWORD": "***"}]
    assert job_json(system, job_id)["env"] == {"PASSWORD": "hunter2"}
    assert "hunter2" not in system.logs()
