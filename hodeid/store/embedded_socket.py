"""The folder the embedded PostgreSQL's unix socket sits in: private to the server's user
(0700), so no other local account can even knock, whatever the path length."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from pathlib import Path

from hodeid.errors import ConfigError
from hodeid.store.embedded_account import Account

RUN_DIR = "pg-run"
SOCKET_NAME = ".s.PGSQL.5432"
# sockaddr_un.sun_path holds 108 bytes with the terminating NUL (Linux).
MAX_SOCKET_PATH = 107
TEMP_PREFIX = "hodei-pg-"


def fits(folder: Path) -> bool:
    """Whether the socket's path in ``folder`` fits in a unix socket address."""
    return len(os.fsencode(folder / SOCKET_NAME)) <= MAX_SOCKET_PATH


def make(data_dir: Path, account: Account) -> Path:
    """A private folder for the socket: ``DATA_DIR/pg-run``, or a fresh temporary folder
    when that path is too long for a unix socket."""
    folder = data_dir.resolve() / RUN_DIR
    if fits(folder):
        if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
            folder.unlink()
        folder.mkdir(mode=0o700, exist_ok=True)
    else:
        folder = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX))
        if not fits(folder):
            shutil.rmtree(folder)
            raise ConfigError(
                f"neither {data_dir / RUN_DIR} nor the temporary folder {folder.parent} gives the "
                "embedded PostgreSQL a unix socket path short enough; choose a shorter --data-dir "
                "or set TMPDIR to a short private folder"
            )
    os.chmod(folder, 0o700)
    account.chown(folder)
    check_private(folder, account)
    return folder


def is_temporary(folder: Path, data_dir: Path) -> bool:
    """Whether ``folder`` is a temporary socket folder (removed when the server stops)."""
    return folder != data_dir.resolve() / RUN_DIR and folder.name.startswith(TEMP_PREFIX)


def check_private(folder: Path, account: Account) -> None:
    """Refuse a socket folder other accounts could enter, or swap for another."""
    try:
        info = os.lstat(folder)
    except OSError as exc:
        raise ConfigError(f"the embedded PostgreSQL's socket folder {folder}: {exc.strerror}") from exc
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != account.uid or stat.S_IMODE(info.st_mode) & 0o077:
        raise ConfigError(
            f"the embedded PostgreSQL's socket folder {folder} is not private (mode "
            f"{stat.S_IMODE(info.st_mode):04o}, owner uid {info.st_uid}; it must be a folder of "
            f"mode 0700 owned by {account.name}): any local user could connect to it. Stop that "
            "server (the hodeid processes using it, or 'kill' the PID in its postmaster.pid) "
            "and start hodeid again"
        )
    for ancestor in folder.parents:
        above = os.lstat(ancestor)
        writable = above.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not above.st_mode & stat.S_ISVTX
        if above.st_uid not in (0, os.geteuid(), account.uid) or writable:
            raise ConfigError(
                f"the embedded PostgreSQL's socket folder {folder} sits in {ancestor}, which "
                "other users can change; choose another --data-dir or TMPDIR"
            )
