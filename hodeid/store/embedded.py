"""The embedded PostgreSQL that serves when no database URL is set, shared by every hodeid
on one data directory: the first one starts it, the last one to exit stops it."""

from __future__ import annotations

import atexit
import fcntl
import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hodeid.store.embedded_server import EmbeddedServer, alive

log = logging.getLogger(__name__)

LOCK_FILE = "pg.lock"
USERS_FILE = "pg.users"


@contextmanager
def _locked(data_dir: Path) -> Iterator[None]:
    fd = os.open(data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _users(data_dir: Path) -> set[int]:
    """The PIDs of the live processes using the server (dead ones forgotten)."""
    try:
        pids = json.loads((data_dir / USERS_FILE).read_text())
    except (OSError, ValueError):
        return set()
    return {pid for pid in pids if isinstance(pid, int) and alive(pid)}


def _save(data_dir: Path, pids: set[int]) -> None:
    fresh = data_dir / f"{USERS_FILE}.new"
    fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(json.dumps(sorted(pids)))
    fresh.replace(data_dir / USERS_FILE)


def start(data_dir: Path) -> str:
    """Start (or reuse) the embedded server of ``data_dir``; its URL, with the password.

    The server outlives this process only if another process still uses it; otherwise it
    is stopped when this process exits.
    """
    server = EmbeddedServer(data_dir)
    server.prepare_data_dir()
    with _locked(server.data_dir):
        url = server.ensure_running()
        _save(server.data_dir, _users(server.data_dir) | {os.getpid()})
    atexit.register(_release, server)
    return url


def _release(server: EmbeddedServer) -> None:
    with _locked(server.data_dir):
        others = _users(server.data_dir) - {os.getpid()}
        _save(server.data_dir, others)
        if not others:
            log.info("stopping the embedded PostgreSQL on %s: no other hodeid uses it", server.pgdata)
            server.stop()
