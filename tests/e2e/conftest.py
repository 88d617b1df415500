"""End-to-end fixtures: real hodeid and hodei-worker processes on loopback."""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.process_logs import _show_process_logs, pytest_runtest_makereport
from tests.support.processes import Cluster, cluster


@pytest.fixture
def system(database_url: str, tmp_path: Path) -> Iterator[Cluster]:
    """hodeid and one worker with 2 slots."""
    with cluster(database_url, tmp_path, workers=[["--slots", "2"]]) as c:
        yield c


@pytest.fixture
def bare(database_url: str, tmp_path: Path) -> Iterator[Cluster]:
    """hodeid with no worker."""
    with cluster(database_url, tmp_path) as c:
        yield c


@pytest.fixture
def make(database_url: str, tmp_path: Path) -> Iterator[Cluster]:
    """A cluster whose daemon the test starts itself, with the flags it needs."""
    c = Cluster(database_url, tmp_path)
    try:
        yield c
    finally:
        c.close()


@pytest.fixture
def pair(database_url: str, tmp_path: Path) -> Iterator[tuple[Cluster, Cluster]]:
    """Two daemons, A and B, no worker, on one database, with one cluster join token (each
    process gets it as HODEI_JOIN_TOKEN), so a worker may join either."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    shared = {"HODEI_JOIN_TOKEN": "hodei-join-" + secrets.token_urlsafe(32)}
    a = Cluster(database_url, tmp_path / "a", extra_env=shared)
    b = Cluster(database_url, tmp_path / "b", extra_env=shared)
    try:
        a.start_daemon()
        b.start_daemon()
        yield a, b
    finally:
        a.close()
        b.close()


@pytest.fixture
def job_dir() -> Iterator[Path]:
    """A directory the workers' jobs may read and write. Run as root, a worker runs its jobs as
    ``nobody``, which cannot enter pytest's tmp_path (0700, root's); so it is ``nobody``'s."""
    path = Path(tempfile.mkdtemp(prefix="hodei-jobs-"))
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        os.chown(path, nobody.pw_uid, nobody.pw_gid)
    try:
        yield path
    finally:
        shutil.rmtree(path)


__all__ = ["_show_process_logs", "pytest_runtest_makereport"]
