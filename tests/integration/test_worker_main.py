"""The hodei-worker command as a real process: bad input, a job end to end, and SIGTERM."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hodei_api import v1
from hodei_api.worker_identity import ONE_TIME_PREFIX, credential_problem
from tests.support.fake_daemon import FakeDaemon, free_port, serve

WORKER = str(Path(sys.executable).parent / "hodei-worker")


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        (["--label", "foo"], {}, "argument --label: 'foo' is not KEY=VALUE (for example gpu=true)"),
        (["--slots", "0"], {}, "--slots / HODEI_SLOTS: input should be greater than or equal to 1 (got 0)"),
        (["--slots", "many"], {}, "argument --slots: invalid int value: 'many'"),
        (["--server", "localhost"], {}, "daemon address 'localhost' is not HOST:PORT"),
        (
            [],
            {"HODEI_ADDR": "host:99999"},
            "--server / HODEI_ADDR: daemon address 'host:99999' is not HOST:PORT",
        ),
        ([], {"HODEI_LABELS": "gpu"}, "--label / HODEI_LABELS: 'gpu' is not KEY=VALUE"),
        (["--memory", "0"], {}, "--memory / HODEI_MEMORY_MB: input should be greater than 0"),
        (["--bogus"], {}, "unrecognized arguments: --bogus"),
        (
            [],
            {"HODEI_JOIN_TOKEN_FILE": "/nonexistent/join.token"},
            "cannot read HODEI_JOIN_TOKEN_FILE /nonexistent/join.token: No such file or directory",
        ),
        (["--tls-ca", "/nonexistent/ca.pem"], {}, "cannot load the TLS files"),
        (["--state-dir", "/etc/passwd"], {}, "the state directory /etc/passwd is not a directory"),
        (
            ["--job-user", "no-such-user-hodei"],
            {},
            "--job-user / HODEI_JOB_USER: there is no user 'no-such-user-hodei' on this host",
        ),
        (
            ["--id", "w\n2026-01-01 INFO forged"],
            {},
            "--id / HODEI_WORKER_ID: worker id 'w\\n2026-01-01 INFO forged' is not valid; use letters, "
            "digits and . _ : @ -, starting with a letter or digit (e.g. build-1)",
        ),
        (["--label", "gpu\x1b[2J=true"], {}, "--label / HODEI_LABELS: label key 'gpu\\x1b[2J' is not valid"),
    ],
)
def test_bad_input_exits_2_with_one_line(argv: list[str], env: dict[str, str], message: str) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HODEI_")}
    done = subprocess.run([WORKER, *argv], env={**clean, **env}, capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("hodei-worker: ")
    assert message in done.stderr


@pytest.fixture
async def daemon() -> AsyncIterator[FakeDaemon]:
    async with serve() as daemon:
        yield daemon


async def test_runs_a_job_and_exits_0_on_sigterm(daemon: FakeDaemon, tmp_path: Path) -> None:
    worker = await asyncio.create_subprocess_exec(
        WORKER, "--server", daemon.addr, "--slots", "2", "--label", "k=v", "--id", "w-main",
        "--state-dir", str(tmp_path / "state"), stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        stream = await daemon.next_stream(timeout=30)
        hello: v1.Hello = await stream.next("hello")
        assert (hello.worker_id, hello.slots, hello.labels) == ("w-main", 2, {"k": "v"})
        # Kept before the first Hello, so a stream cut before its Welcome loses nothing.
        kept = (tmp_path / "state" / "w-main.credential").read_text().strip()
        assert hello.credential == kept and credential_problem(kept) is None
        assert hello.resources is not None and hello.resources.cpu == os.cpu_count()
        stream.welcome()
        stream.send(
            run_job=v1.RunJob(job_id="j", attempt=1, spec=v1.JobSpec(command=["sleep", "100"]), first_seq=1)
        )
        await stream.next("accepted")
        worker.send_signal(signal.SIGTERM)
        _, finished = await stream.until_finished()
        assert (finished.outcome, finished.signal) == (v1.AttemptOutcome.CANCELLED, 15)
        await stream.ended()
        assert await asyncio.wait_for(worker.wait(), 30) == 0
        assert worker.stderr is not None
        log = (await worker.stderr.read()).decode()
        assert f"hodei-worker: connected to {daemon.addr} as w-main (slots 2)\n" in log
    finally:
        if worker.returncode is None:
            worker.kill()
            await worker.wait()


async def test_sigint_while_the_daemon_is_unreachable_exits_0(tmp_path: Path) -> None:
    worker = await asyncio.create_subprocess_exec(
        WORKER, "--server", f"127.0.0.1:{free_port()}", "--state-dir", str(tmp_path / "state"),
        stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert worker.stderr is not None
        first = await asyncio.wait_for(worker.stderr.readline(), 30)
        assert b"cannot reach 127.0.0.1:" in first and b"Connection refused; reconnecting in" in first
        worker.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(worker.wait(), 30) == 0
    finally:
        if worker.returncode is None:
            worker.kill()
            await worker.wait()


def _as_nobody(code: str) -> subprocess.CompletedProcess[str]:
    """Run Python ``code`` as the user ``nobody``, with this checkout and its packages importable."""
    # The venv's interpreter may be a link into root's 0700 home; the same version elsewhere will do.
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    python = shutil.which(version, path="/usr/local/bin:/usr/bin:/bin")
    if python is None:
        pytest.skip(f"no {version} outside root's home for the user nobody to run")
    path = os.pathsep.join([sysconfig.get_paths()["purelib"], str(Path(__file__).parents[2])])
    env = {"PATH": "/usr/bin:/bin", "HOME": "/", "PYTHONPATH": path}
    return subprocess.run(
        [python, "-c", code], user="nobody", env=env, capture_output=True, text=True, timeout=60, cwd="/"
    )


@pytest.mark.skipif(os.geteuid() != 0, reason="starting a worker as another user needs root")
def test_a_worker_not_running_as_root_refuses_to_run_jobs_as_anyone_else() -> None:
    if _as_nobody("import hodei_worker.main").returncode != 0:
        pytest.skip("the user nobody cannot import this checkout")
    done = _as_nobody(
        "import sys; from hodei_worker.main import main; sys.exit(main(['--job-user', 'root']))"
    )
    assert done.returncode == 2
    assert done.stderr == (
        "hodei-worker: --job-user / HODEI_JOB_USER: hodei-worker runs as 'nobody', not root, so its "
        "jobs can only run as 'nobody'; drop --job-user root, or start hodei-worker as root\n"
    )


async def test_a_provisioned_worker_presents_no_credential_and_keeps_nothing(
    daemon: FakeDaemon, tmp_path: Path
) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HODEI_")}
    worker = await asyncio.create_subprocess_exec(
        WORKER, "--server", daemon.addr, "--id", "local-1", "--state-dir", str(tmp_path / "state"),
        env={**clean, "HODEI_JOIN_TOKEN": ONE_TIME_PREFIX + "issued"},
    )  # fmt: skip
    try:
        hello: v1.Hello = await (await daemon.next_stream(timeout=30)).next("hello")
        assert (hello.token, hello.credential) == (ONE_TIME_PREFIX + "issued", "")
        assert not (tmp_path / "state").exists()
    finally:
        worker.kill()
        await worker.wait()
