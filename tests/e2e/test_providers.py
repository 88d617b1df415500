"""Providers with real processes: a bare hodeid runs a job on a local worker it starts and
stops it once idle; a burst never starts more than max; an exec provider creates workers
through sh, and one whose create command fails leaves jobs PENDING, explained, backing off."""

from __future__ import annotations

import json
import os
import pwd
import secrets
import signal
import time
from pathlib import Path

import pytest

from tests.support.jobs import cli_json, live_worker
from tests.support.processes import BIN, Cluster, stop


def providers(c: Cluster) -> dict[str, dict[str, object]]:
    found = cli_json(c, "provider", "list")
    assert isinstance(found, list)
    return {p["name"]: p for p in found}


def wait_for(check: object, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


def test_a_bare_hodeid_runs_a_job_on_a_local_worker_and_stops_it_when_idle(make: Cluster) -> None:
    make.local_provider = True
    # Idle long enough for the checks below to see the worker on a busy machine.
    make.start_daemon("--local-max", "2", "--local-idle-timeout", "6")
    result = make.hodei("job", "run", "--", "echo", "hi")
    assert (result.returncode, result.stdout) == (0, b"hi\n"), result.stderr
    workers = cli_json(make, "worker", "list")
    assert isinstance(workers, list) and [w["id"].startswith("local-") for w in workers] == [True]
    jobs = cli_json(make, "job", "list")
    assert isinstance(jobs, list) and [j["worker_id"] for j in jobs] == [workers[0]["id"]]
    local = providers(make)["local"]
    assert (local["kind"], local["max"], local["connected"]) == ("local", 2, 1)
    wait_for(lambda: cli_json(make, "worker", "list") == [], "the idle local worker was not stopped")
    # The provider counts it gone on its next tick.
    wait_for(lambda: providers(make)["local"]["connected"] == 0, "the provider still counts the worker")


def test_a_local_worker_gives_its_jobs_no_token_and_runs_them_as_the_job_user(make: Cluster) -> None:
    make.local_provider = True
    make.start_daemon("--local-max", "1")
    result = make.hodei("job", "run", "--", "sh", "-c", "id -u; env")
    assert result.returncode == 0, result.stderr
    uid, *env = result.stdout.decode().splitlines()
    assert [line for line in env if line.startswith("HODEI_")] == [], "the one-time token reached the job"
    assert int(uid) == (pwd.getpwnam("nobody").pw_uid if os.geteuid() == 0 else os.geteuid())


@pytest.mark.skipif(os.geteuid() != 0, reason="only a worker running as root switches the job's user")
def test_local_job_user_is_passed_to_the_local_workers(make: Cluster) -> None:
    make.local_provider = True
    make.start_daemon("--local-max", "1", "--local-job-user", "root")
    result = make.hodei("job", "run", "--", "id", "-u")
    assert (result.returncode, result.stdout) == (0, b"0\n"), result.stderr


def test_a_burst_of_jobs_never_starts_more_than_max_local_workers(make: Cluster) -> None:
    make.local_provider = True
    make.start_daemon("--local-max", "2")
    jobs = []
    for _ in range(12):
        result = make.hodei("job", "run", "--detach", "--", "sleep", "1")
        assert result.returncode == 0, result.stderr
        jobs.append(result.stdout.decode().strip())
    most = 0

    def all_done() -> bool:
        nonlocal most
        local = providers(make)["local"]
        most = max(most, int(local["provisioning"]) + int(local["connected"]))  # type: ignore[call-overload]
        listed = cli_json(make, "job", "list")
        assert isinstance(listed, list)
        return all(j["state"] == "SUCCEEDED" for j in listed if j["id"] in jobs)

    wait_for(all_done, "the jobs did not all succeed", timeout=120)
    assert 1 <= most <= 2
    listed = cli_json(make, "job", "list")
    assert isinstance(listed, list)
    assert len({j["worker_id"] for j in listed}) <= 2


def exec_config(path: Path, create: str, destroy: str = "", max_: int = 2, idle_timeout: float = 60) -> Path:
    config = path / "hodeid.toml"
    config.write_text(
        "[[exec_providers]]\n"
        'name = "cloud"\n'
        f"create = {json.dumps(create)}\n"
        f"destroy = {json.dumps(destroy)}\n"
        f"max = {max_}\n"
        f"idle_timeout_seconds = {idle_timeout}\n"
        'labels = { zone = "eu" }\n'
    )
    return config


def test_an_exec_provider_whose_create_fails_leaves_jobs_pending_and_explained(
    make: Cluster, tmp_path: Path
) -> None:
    config = exec_config(tmp_path, "echo 'no quota left in zone eu' >&2; exit 3")
    make.start_daemon(env={"HODEI_CONFIG": str(config)})
    result = make.hodei("job", "run", "--detach", "--", "true")
    assert result.returncode == 0, result.stderr
    job_id = result.stdout.decode().strip()

    def failing() -> bool:
        return bool(providers(make)["cloud"]["failures"])

    wait_for(failing, "the create command's failure was not recorded")
    cloud = providers(make)["cloud"]
    assert cloud["last_error"] == "create command exited with 3: no quota left in zone eu"
    assert cloud["kind"] == "exec" and cloud["provisioning"] == cloud["connected"] == 0

    def explained_as_failing() -> bool:
        # Between two tries (1 s, then 2 s, 4 s ...) the trace says why the provider is out;
        # at the moment it may try again it is a candidate like any other.
        explained = cli_json(make, "job", "explain", job_id)
        assert isinstance(explained, dict) and explained["state"] == "PENDING"
        [verdict] = [v for v in explained["decisions"][0]["verdicts"] if v["target"] == "cloud"]
        if verdict["reason"] != "PROVIDER_FAILING":
            return False
        assert verdict["message"].startswith(
            "failing: create command exited with 3: no quota left in zone eu"
        )
        return True

    wait_for(explained_as_failing, "explain never showed the provider failing")
    # Backing off, not spinning: doubling delays from 1 s allow a handful of tries here.
    time.sleep(3)
    cloud = providers(make)["cloud"]
    assert 1 <= int(cloud["failures"]) <= 6  # type: ignore[call-overload]
    assert float(cloud["retry_in_seconds"]) > 0  # type: ignore[arg-type]
    text = make.hodei("provider", "list").stdout.decode()
    assert "cloud" in text and "no quota left in zone eu (retry in" in text


def test_an_exec_provider_starts_a_worker_through_sh_and_destroys_it(make: Cluster, tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    pids.mkdir()
    create = (
        f"HODEI_JOIN_TOKEN={{token}} {BIN}/hodei-worker --server {{addr}} --id {{worker_id}}"
        f" --label {{labels}} >>{tmp_path}/exec-worker.log 2>&1 & echo $! > {pids}/{{worker_id}}"
    )
    destroy = f'kill "$(cat {pids}/{{worker_id}})"'
    config = exec_config(tmp_path, create, destroy)
    try:
        make.start_daemon(env={"HODEI_CONFIG": str(config)})
        result = make.hodei("job", "run", "--selector", "zone=eu", "--", "echo", "from the cloud")
        assert (result.returncode, result.stdout) == (0, b"from the cloud\n"), result.stderr
        workers = cli_json(make, "worker", "list")
        assert isinstance(workers, list) and len(workers) == 1
        assert workers[0]["id"].startswith("cloud-") and workers[0]["labels"] == {"zone": "eu"}
        assert make.daemon is not None
        make.close()
        # The daemon's shutdown ran the destroy command: the worker is gone.
        [pid_file] = pids.iterdir()
        pid = int(pid_file.read_text())
        wait_for(lambda: not _alive(pid), "the destroy command did not end the worker", timeout=30)
    finally:
        for pid_file in pids.iterdir():
            if _alive(pid := int(pid_file.read_text())):
                os.kill(pid, signal.SIGKILL)


def test_an_exec_providers_worker_outlives_its_leader_and_the_next_one_destroys_it(
    database_url: str, tmp_path: Path
) -> None:
    # The daemon that created the worker stops while another runs: the worker moves to the
    # other daemon, which takes the lead and the worker over, and destroys it once idle.
    pids = tmp_path / "pids"
    pids.mkdir()
    shared = {"HODEI_JOIN_TOKEN": "hodei-join-" + secrets.token_urlsafe(32)}
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = Cluster(database_url, tmp_path / "a", extra_env=shared)
    b = Cluster(database_url, tmp_path / "b", extra_env=shared)
    create = (
        f"HODEI_JOIN_TOKEN={{token}} {BIN}/hodei-worker --server {{addr}},{b.addr} --id {{worker_id}}"
        f" --label {{labels}} >>{tmp_path}/exec-worker.log 2>&1 & echo $! > {pids}/{{worker_id}}"
    )
    destroy = f'kill "$(cat {pids}/{{worker_id}})"'
    # Idle long enough for A not to drain it before it stops, on a busy machine.
    config = {"HODEI_CONFIG": str(exec_config(tmp_path, create, destroy, max_=1, idle_timeout=8))}
    try:
        a.start_daemon(env=config)
        b.start_daemon(env=config)
        result = a.hodei("job", "run", "--selector", "zone=eu", "--", "echo", "from the cloud")
        assert (result.returncode, result.stdout) == (0, b"from the cloud\n"), result.stderr
        [pid_file] = pids.iterdir()
        worker_id, pid = pid_file.name, int(pid_file.read_text())
        assert a.daemon is not None
        stop(a.daemon)
        assert _alive(pid), "the stopping daemon destroyed a worker the other daemon could use"
        live_worker(b, worker_id)
        taken = "the new leader did not take the worker over"
        wait_for(lambda: providers(b)["cloud"]["connected"] == 1, taken)
        wait_for(lambda: not _alive(pid), "the new leader did not destroy the idle worker", timeout=60)
        assert [p.name for p in pids.iterdir()] == [worker_id]  # it created no other
    finally:
        a.close()
        b.close()
        for pid_file in pids.iterdir():
            if _alive(pid := int(pid_file.read_text())):
                os.kill(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie the shell left behind is reaped by init; it no longer runs.
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"
