"""The OS account the embedded PostgreSQL runs as: the daemon's own, or, for a daemon
running as root, a dedicated system user in a group of its own (never root's group)."""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hodeid.errors import ConfigError

SERVER_USER = "hodei-postgres"


@dataclass(frozen=True)
class Account:
    """Who the server's processes run as; ``switch`` when that is not this process."""

    name: str
    uid: int
    gid: int
    switch: bool

    def run_as(self) -> dict[str, Any]:
        """``subprocess`` arguments that run a command as this account with its own group
        and no supplementary groups (``user=`` alone would keep root's gid and groups)."""
        if not self.switch:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": [], "cwd": "/"}

    def chown(self, path: Path) -> None:
        """Give ``path`` (a file or folder hodeid made for the server) to this account."""
        if self.switch:
            os.chown(path, self.uid, self.gid, follow_symlinks=False)


def server_account() -> Account:
    """This process's account, or as root the ``hodei-postgres`` system user (created
    with a group of its own and no login shell on first use)."""
    if os.geteuid() != 0:
        entry = pwd.getpwuid(os.geteuid())
        return Account(entry.pw_name, entry.pw_uid, os.getegid(), switch=False)
    try:
        entry = pwd.getpwnam(SERVER_USER)
    except KeyError:
        entry = _create()
    if entry.pw_uid == 0 or entry.pw_gid == 0:
        raise ConfigError(
            f"the OS user {SERVER_USER} has uid {entry.pw_uid} and gid {entry.pw_gid}; the embedded "
            f"PostgreSQL needs an unprivileged user with a group of its own: 'userdel {SERVER_USER}' "
            "and start hodeid again, or set --database-url"
        )
    return Account(SERVER_USER, entry.pw_uid, entry.pw_gid, switch=True)


def _create() -> pwd.struct_passwd:
    useradd = shutil.which("useradd")
    nologin = shutil.which("nologin") or "/bin/false"
    if useradd is None:
        raise ConfigError(
            f"as root the embedded PostgreSQL runs as the OS user {SERVER_USER}, and useradd is "
            f"missing to create it: create it yourself (a system user with a group of its own) "
            "or set --database-url"
        )
    result = subprocess.run(
        [useradd, "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
         "--shell", nologin, SERVER_USER],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if result.returncode not in (0, 9):  # 9: another hodeid created it meanwhile
        raise ConfigError(f"cannot create the OS user {SERVER_USER}: {result.stderr.strip()}")
    return pwd.getpwnam(SERVER_USER)


def can_traverse(mode: int, uid: int, gid: int, account: Account) -> bool:
    """Whether ``account`` (its own group only) may enter a folder of this mode and owner."""
    if uid == account.uid:
        return bool(mode & stat.S_IXUSR)
    if gid == account.gid:
        return bool(mode & stat.S_IXGRP)
    return bool(mode & stat.S_IXOTH)


def check_reachable(path: Path, account: Account) -> None:
    """Refuse, naming the folder and the fix, when ``account`` cannot reach ``path``: hodeid
    never opens the permissions of folders it did not make."""
    if not account.switch:
        return
    path = path.resolve()
    for folder in [*reversed(path.parents), path]:
        info = folder.stat()
        if not can_traverse(info.st_mode, info.st_uid, info.st_gid, account):
            raise ConfigError(
                f"the embedded PostgreSQL runs as the OS user {account.name}, which cannot enter "
                f"{folder} (mode {stat.S_IMODE(info.st_mode):04o}) to reach the data directory: run "
                f"'chmod o+x {folder}' if that is fine for this folder, or choose a --data-dir "
                "it can reach (for example /var/lib/hodei), or set --database-url"
            )
