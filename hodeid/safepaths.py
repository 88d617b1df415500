"""Refuse data directories and secret files someone else could have planted or could swap,
as OpenSSH's StrictModes does: the decision is a pure function of a path's mode and owner,
and ``check_dir``/``check_file`` walk the path from ``/`` down around it."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from hodeid.errors import ConfigError

ROOT_UID = 0


@dataclass(frozen=True)
class Entry:
    """What the decision needs to know about one path: its mode bits and owner."""

    mode: int
    uid: int


def problem(entry: Entry, me: int, *, target: bool) -> str | None:
    """What makes ``entry`` unsafe for a daemon running as uid ``me``, or None.

    The ``target`` (the data directory or a secret file) must be owned by ``me``; an
    ancestor directory by ``me`` or root. Neither may be writable by group or others,
    except an ancestor with the sticky bit (``/tmp``), whose entries only their owners
    may rename or delete.
    """
    owners = {me} if target else {me, ROOT_UID}
    if entry.uid not in owners:
        whom = "you" if target else "you or root"
        return f"is owned by uid {entry.uid}, not by {whom} (uid {me})"
    if entry.mode & (stat.S_IWGRP | stat.S_IWOTH):
        if not target and stat.S_ISDIR(entry.mode) and entry.mode & stat.S_ISVTX:
            return None
        whom = "others" if entry.mode & stat.S_IWOTH else "its group"
        return f"is writable by {whom} (mode {stat.S_IMODE(entry.mode):04o})"
    return None


def _refuse(path: Path, what: str, fix: str) -> ConfigError:
    return ConfigError(f"refusing {path}: it {what}; {fix}")


def _check_ancestors(path: Path, me: int) -> None:
    for ancestor in reversed(path.parents):
        found = problem(_entry(ancestor), me, target=False)
        if found:
            raise _refuse(
                ancestor,
                f"{found}, so they could swap {path}",
                f"run 'chmod go-w {ancestor}' (or chown it to root), or choose a path under a "
                "folder only root and you can write",
            )


def _entry(path: Path) -> Entry:
    info = os.lstat(path)
    return Entry(info.st_mode, info.st_uid)


def check_dir(path: Path, me: int | None = None) -> None:
    """Raise ConfigError unless directory ``path`` and every folder above it are safe for
    uid ``me`` (default: this process's) to keep secrets in."""
    me = os.geteuid() if me is None else me
    path = path.resolve()
    _check_ancestors(path, me)
    found = problem(_entry(path), me, target=True)
    if found:
        raise _refuse(
            path,
            found,
            f"run 'chown {me} {path} && chmod go-w {path}' if it is yours, else choose another "
            "--data-dir (hodeid makes a missing one itself, mode 0700)",
        )


def check_file(path: Path, me: int | None = None) -> None:
    """Raise ConfigError unless secret file ``path`` is ours, is not a symlink, is not
    writable by group or others, and sits in a folder that is safe (``check_dir``)."""
    me = os.geteuid() if me is None else me
    check_dir(path.parent, me)
    entry = _entry(path)
    if stat.S_ISLNK(entry.mode):
        raise _refuse(path, "is a symbolic link", "replace it with the file itself, or delete it")
    found = problem(entry, me, target=True)
    if found:
        raise _refuse(
            path,
            found,
            f"if you wrote it, run 'chown {me} {path} && chmod 600 {path}'; otherwise delete it "
            "and restart hodeid to get a new one",
        )
