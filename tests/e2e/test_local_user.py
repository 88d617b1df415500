"""A second local account against root's hodeid with its embedded PostgreSQL: it reads no
token and no password, cannot reach the database (even with the password), and cannot hand
hodeid a data directory of its own making. The server runs in a group of its own."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from hodeid.control.apitokens import new_token
from hodeid.store.embedded_account import SERVER_USER
from hodeid.store.embedded_binaries import wheel_bin
from hodeid.store.embedded_server import Postmaster, alive, postmaster
from tests.support.processes import BIN, free_port, stop, wait_port

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="creating a second local user needs root")


@dataclass(frozen=True)
class Stranger:
    """Another local account, with no group in common with anyone."""

    entry: pwd.struct_passwd

    def run(self, *command: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            command, capture_output=True, text=True, timeout=30, cwd="/",
            env={"PATH": "/usr/bin:/bin", **(env or {})},
            user=self.entry.pw_uid, group=self.entry.pw_gid, extra_groups=[],
        )  # fmt: skip


@pytest.fixture
def stranger() -> Iterator[Stranger]:
    useradd, userdel = shutil.which("useradd"), shutil.which("userdel")
    if useradd is None or userdel is None:
        pytest.skip("useradd/userdel are missing: cannot create a second local user")
    name = f"hodei-t{uuid.uuid4().hex[:8]}"
    subprocess.run(
        [useradd, "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
         "--shell", "/bin/sh", name],
        check=True, capture_output=True,
    )  # fmt: skip
    try:
        yield Stranger(pwd.getpwnam(name))
    finally:
        subprocess.run([userdel, name], check=True, capture_output=True)


@pytest.fixture
def root_dir() -> Iterator[Path]:
    """A folder every account may pass through (0711) but list nothing in: what /var/lib is."""
    root = Path(tempfile.mkdtemp(prefix="hodei-lu-"))
    root.chmod(0o711)
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def start_hodeid(data_dir: Path, *extra: str) -> tuple[subprocess.Popen[bytes], Path]:
    """Root's hodeid on ``data_dir`` (embedded PostgreSQL unless ``extra`` says otherwise)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HODEI_")}
    env["HODEI_CONFIG"] = "/nonexistent/hodeid.toml"
    log = data_dir.parent / f"hodeid-{port}.log"
    args = [
        str(BIN / "hodeid"),
        "--listen",
        f"127.0.0.1:{port}",
        "--data-dir",
        str(data_dir),
        "--no-local-provider",
    ]
    with log.open("ab") as out:
        proc = subprocess.Popen([*args, *extra], stdout=out, stderr=out, env=env)
    try:
        wait_port(port, proc, timeout=60)
    except (RuntimeError, TimeoutError):
        stop(proc)
        raise AssertionError(log.read_text()) from None
    return proc, log


def running_server(data_dir: Path) -> Postmaster:
    found = postmaster(data_dir / "pg")
    assert found is not None and found.status == "ready", f"no embedded PostgreSQL runs on {data_dir}"
    return found


def wait_stopped(pid: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while alive(pid):
        assert time.monotonic() < deadline, f"the embedded PostgreSQL (pid {pid}) still runs"
        time.sleep(0.05)


def psql(socket_dir: Path, password: str, run: Stranger | None = None) -> subprocess.CompletedProcess[str]:
    command = (str(wheel_bin() / "psql"), "-w", "-h", str(socket_dir), "-U", "postgres", "-d", "postgres",
               "-c", "SELECT 'in'")  # fmt: skip
    env = {"PGPASSWORD": password}
    if run is not None:
        return run.run(*command, env=env)
    return subprocess.run(
        command, capture_output=True, text=True, timeout=30, env={"PATH": "/usr/bin:/bin", **env}
    )


@pytest.mark.parametrize("long_path", [False, True], ids=["short-data-dir", "long-data-dir"])
def test_another_local_user_reaches_neither_tokens_nor_database(
    stranger: Stranger, root_dir: Path, long_path: bool
) -> None:
    parent = root_dir
    if long_path:
        # The socket path in the data dir is then too long for a unix socket address.
        parent = root_dir / ("x" * 90)
        parent.mkdir(mode=0o711)
        parent.chmod(0o711)
    data = parent / "data"
    if stranger.run(str(wheel_bin() / "psql"), "--version").returncode != 0:
        pytest.skip(f"{stranger.entry.pw_name} cannot run {wheel_bin() / 'psql'} (a folder above is private)")
    proc, log = start_hodeid(data)
    try:
        server = running_server(data)
        # What a local user tries first: the socket, no password (the old server trusted it).
        knock = psql(server.socket_dir, "", stranger)
        assert knock.returncode != 0 and "Permission denied" in knock.stderr, knock
        for name in ("admin.token", "join.token", "pg.password"):
            result = stranger.run("cat", str(data / name))
            assert result.returncode != 0 and "Permission denied" in result.stderr, (name, result)
        secret = (data / "pg.password").read_text().strip()
        assert "in" in psql(server.socket_dir, secret).stdout, (
            "root itself cannot connect: the probe proves nothing"
        )
        refused = psql(server.socket_dir, secret, stranger)
        assert refused.returncode != 0 and "Permission denied" in refused.stderr, refused
        without = psql(server.socket_dir, "")
        assert without.returncode != 0 and "password" in without.stderr, (
            "the server let root in without a password"
        )
        info = server.socket_dir.stat()
        assert (info.st_mode & 0o777, info.st_uid) == (0o700, pwd.getpwnam(SERVER_USER).pw_uid)
        assert long_path != server.socket_dir.is_relative_to(data), server.socket_dir
    finally:
        stop(proc)
    wait_stopped(server.pid)
    assert not server.socket_dir.exists() or not long_path, "the temporary socket folder was left behind"
    assert proc.returncode == 0, log.read_text()


def test_the_embedded_server_runs_in_a_group_of_its_own(root_dir: Path) -> None:
    proc, log = start_hodeid(root_dir / "data")
    try:
        server = running_server(root_dir / "data")
        status = dict(
            line.split(":", 1)
            for line in Path(f"/proc/{server.pid}/status").read_text().splitlines()
            if ":" in line
        )
        account = pwd.getpwnam(SERVER_USER)
        assert "0" not in status["Gid"].split(), status["Gid"]
        assert status["Groups"].split() == [], status["Groups"]
        assert status["Gid"].split() == [str(account.pw_gid)] * 4
        assert status["Uid"].split() == [str(account.pw_uid)] * 4
    finally:
        stop(proc)
    assert proc.returncode == 0, log.read_text()


def test_a_data_dir_another_user_made_is_refused(
    stranger: Stranger, root_dir: Path, database_url: str
) -> None:
    public_tmp = root_dir / "tmp"
    public_tmp.mkdir()
    public_tmp.chmod(0o1777)
    shared = public_tmp / "hodei-shared"
    planted = new_token()[1]  # a token of their choosing, well formed
    made = stranger.run(
        "sh",
        "-c",
        f"mkdir -m 0777 {shared} && echo {planted} > {shared}/admin.token && chmod 644 {shared}/admin.token",
    )
    assert made.returncode == 0, made.stderr
    env = {k: v for k, v in os.environ.items() if not k.startswith("HODEI_")}
    args = [str(BIN / "hodeid"), "--listen", f"127.0.0.1:{free_port()}", "--data-dir", str(shared),
            "--database-url", database_url, "--no-local-provider"]  # fmt: skip
    try:
        result = subprocess.run(args, capture_output=True, text=True, timeout=30, env=env)
    except subprocess.TimeoutExpired:
        pytest.fail(f"hodeid served from {shared}, registering the admin token another user chose")
    assert result.returncode == 1, result.stderr
    uid = stranger.entry.pw_uid
    assert f"refusing {shared}: it is owned by uid {uid}, not by you (uid 0)" in result.stderr
    assert "choose another --data-dir" in result.stderr


def test_the_last_hodeid_on_a_data_dir_stops_the_server(root_dir: Path) -> None:
    data = root_dir / "data"
    first, _ = start_hodeid(data)
    second, log = start_hodeid(data)
    try:
        server = running_server(data)
        stop(first)
        assert alive(server.pid) and running_server(data).pid == server.pid, "stopped while a hodeid used it"
    finally:
        stop(first)
        stop(second)
    wait_stopped(server.pid)
    assert second.returncode == 0, log.read_text()
