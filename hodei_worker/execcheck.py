"""Whether a job user's exec of a program is sure to succeed, read from the files' modes first.

A root worker starts its jobs through ``setpriv``, which switches the ids and then execs the
program itself, so the worker no longer sees the exec fail. It uses that way only when this
module finds, before spawning, that the exec will work: the program is looked up as ``execvp``
does on the job's PATH, and every folder on the way and the file itself are judged by their
owner, group and mode against the job user's uid, gid and groups, as the kernel judges them.
setpriv looks the program up while it still has root's capabilities (the exec drops them), so
the first file root finds must be one the user may run. Anything it cannot judge from those
alone (an ACL, a noexec mount, a file neither ELF for this machine nor a ``#!`` script of such a
program) counts as not sure, and the job starts the old way, which reports failures exactly as
before.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Mapping
from enum import Enum
from typing import Protocol

_ACL = "system.posix_acl_access"
_MAX_SYMLINKS = 40  # the kernel's own limit
_HEADER = 256  # what the kernel reads of a file to pick its format (BINPRM_BUF_SIZE)
_MISSING = (errno.ENOENT, errno.ENOTDIR)


class User(Protocol):
    @property
    def uid(self) -> int: ...
    @property
    def gid(self) -> int: ...
    @property
    def groups(self) -> tuple[int, ...]: ...


class _Verdict(Enum):
    RUNS = "runs"
    MISSING = "missing"  # not there even for root: execvp and Popen both try the next
    UNSURE = "unsure"


def surely_runs(program: str, env: Mapping[str, str], cwd: str, user: User) -> bool:
    """Whether ``user``, in ``cwd``, would exec ``program`` (found as ``execvp`` finds it on
    ``env``'s PATH, as Popen also does) without an error. False means: not known.

    setpriv's execvp runs before the exec drops root's capabilities, so it finds what root
    finds: the first candidate that exists for root must be one the user may run, or the two
    ways would run different files (a program in root's ``~/.local/bin`` before the system's).
    """
    if user.uid == 0 or not program or "\0" in program:
        return False
    if "/" in program:
        candidates = [program]
    else:
        candidates = [os.path.join(folder, program) for folder in os.get_exec_path(env)]
    here = ""  # the job's directory, real, once a relative name needs it
    try:
        for candidate in candidates:
            if not candidate.startswith("/") and not here:
                here = os.path.realpath(os.path.join(os.getcwd(), cwd))
            verdict = _judge(here, candidate, user, script_ok=True)
            if verdict is not _Verdict.MISSING:
                return verdict is _Verdict.RUNS
    except (OSError, ValueError):  # a NUL byte in PATH or cwd, a directory gone: Popen says
        return False
    return False


def _judge(here: str, path: str, user: User, *, script_ok: bool) -> _Verdict:
    """``path``'s verdict; a relative one is looked up from ``here``, and the kernel does not
    ask the user to search the folders above it."""
    absolute = path.startswith("/")
    try:
        os.stat(path if absolute else os.path.join(here, path))
    except OSError as exc:
        return _Verdict.MISSING if exc.errno in _MISSING else _Verdict.UNSURE
    try:
        found = _walk("/" if absolute else here, path, user)
    except OSError:
        return _Verdict.UNSURE
    if found is None:
        return _Verdict.UNSURE
    real, info = found
    if not stat.S_ISREG(info.st_mode) or not _may_exec(info, user):
        return _Verdict.UNSURE
    try:
        if os.statvfs(real).f_flag & os.ST_NOEXEC:
            return _Verdict.UNSURE
        header = _read_header(real, info)
    except OSError:
        return _Verdict.UNSURE
    if len(header) >= 20 and _native_elf(header):
        return _Verdict.RUNS
    if script_ok and (interpreter := _interpreter(header)) is not None:
        runs = _judge("/", interpreter, user, script_ok=False) is _Verdict.RUNS
        return _Verdict.RUNS if runs else _Verdict.UNSURE
    return _Verdict.UNSURE


def _walk(here: str, path: str, user: User) -> tuple[str, os.stat_result] | None:
    """Resolve ``path`` from the folder ``here`` as the kernel does for ``user``: the real path
    and its stat, or None if a folder on the way may not be searched or cannot be judged."""
    pending = [part for part in path.split("/") if part]
    links = 0
    while pending:
        folder = os.stat(here)
        if _has_acl(here) or not stat.S_ISDIR(folder.st_mode) or not _may_exec(folder, user):
            return None
        part = pending.pop(0)
        if part == ".":
            continue
        if part == "..":
            here = os.path.dirname(here)
            continue
        nxt = os.path.join(here, part)
        info = os.lstat(nxt)
        if stat.S_ISLNK(info.st_mode):
            links += 1
            # fs.protected_symlinks may refuse links in sticky world-writable folders.
            if links > _MAX_SYMLINKS or folder.st_mode & stat.S_ISVTX:
                return None
            target = os.readlink(nxt)
            pending[:0] = [p for p in target.split("/") if p]
            if target.startswith("/"):
                here = "/"
            continue
        here = nxt
    info = os.stat(here)
    return None if _has_acl(here) else (here, info)


def _may_exec(info: os.stat_result, user: User) -> bool:
    """Execute (search, for a folder) by mode bits, as the kernel picks owner, group or other."""
    if info.st_uid == user.uid:
        return bool(info.st_mode & stat.S_IXUSR)
    if info.st_gid == user.gid or info.st_gid in user.groups:
        return bool(info.st_mode & stat.S_IXGRP)
    return bool(info.st_mode & stat.S_IXOTH)


def _has_acl(path: str) -> bool:
    try:
        return _ACL in os.listxattr(path)
    except OSError as exc:
        if exc.errno == errno.ENOTSUP:
            return False
        raise


def _read_header(path: str, info: os.stat_result) -> bytes:
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        opened = os.fstat(fd)
        if (opened.st_dev, opened.st_ino) != (info.st_dev, info.st_ino):
            raise OSError(errno.ESTALE, "changed while looked at", path)
        return os.read(fd, _HEADER)
    finally:
        os.close(fd)


def _own_elf() -> bytes:
    with open("/proc/self/exe", "rb") as exe:
        header = exe.read(20)
    # Class, byte order and version (e_ident[4:7]), and the machine (e_machine).
    return header[4:7] + header[18:20]


_NATIVE = _own_elf()


def _native_elf(header: bytes) -> bool:
    kind = int.from_bytes(header[16:18], "little" if header[5] == 1 else "big")
    return header[:4] == b"\x7fELF" and kind in (2, 3) and header[4:7] + header[18:20] == _NATIVE


def _interpreter(header: bytes) -> str | None:
    """The absolute interpreter of a ``#!`` script whose first line is whole, else None."""
    if not header.startswith(b"#!"):
        return None
    line, newline, _ = header[2:].partition(b"\n")
    if not newline and len(header) == _HEADER:
        return None
    name = line.lstrip(b" \t").split(None, 1)[0] if line.strip(b" \t") else b""
    if not name.startswith(b"/"):
        return None
    return os.fsdecode(name)
