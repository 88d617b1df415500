"""Which OS user a job runs as, and the environment it starts with.

A worker running as root runs its jobs as an unprivileged user (``nobody`` by default, as
Nomad's exec driver does), so a job cannot read the worker's credentials, the daemon's tokens
or anything else only root may read. A worker not running as root can only run jobs as itself.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import stat
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from hodei_worker.errors import JobUserError

DEFAULT_JOB_USER = "nobody"
"""Who a root worker's jobs run as unless ``--job-user`` says otherwise."""

_OWN_PREFIX = "HODEI_"

SETPRIV = "/usr/bin/setpriv"
"""util-linux's setpriv, which a root worker starts its jobs through when it may trust it."""


@dataclass(frozen=True)
class JobUser:
    """An OS user jobs are switched to: its ids, every group it belongs to, its home, and the
    directory its jobs start in when they name none."""

    name: str
    uid: int
    gid: int
    groups: tuple[int, ...]
    home: str
    workdir: str = "/"
    """The worker's own directory if this user may enter it, else ``/``."""
    setpriv: str | None = None
    """A trusted setpriv (``trusted_setpriv``) to switch to this user with, if any."""

    def spawn_args(self) -> dict[str, Any]:
        """``subprocess.Popen`` arguments that make the child this user, with its groups.

        Popen then forks the whole worker (CPython only vforks when it changes no ids), about
        3 ms for a worker of 30 MB; ``through_setpriv`` does the same switch in a vforked child.
        """
        return {"user": self.uid, "group": self.gid, "extra_groups": list(self.groups)}

    def through_setpriv(self, argv: Sequence[str]) -> list[str]:
        """``argv`` run by setpriv as this user, with its gid and all its groups (``spawn_args``'
        switch, no capability left). setpriv execs ``argv[0]`` as ``execvp`` does, argv unchanged,
        but before that exec drops root's capabilities: see ``execcheck.surely_runs``."""
        assert self.setpriv is not None, "only with a trusted setpriv"
        groups = f"--groups={','.join(map(str, self.groups))}" if self.groups else "--clear-groups"
        return [self.setpriv, f"--reuid={self.uid}", f"--regid={self.gid}", groups, "--", *argv]

    def identity(self) -> dict[str, str]:
        """HOME, USER and LOGNAME as a login of this user would have them."""
        return {"HOME": self.home, "USER": self.name, "LOGNAME": self.name}

    async def can_enter(self, path: str) -> bool:
        """Whether this user may make ``path`` its working directory.

        Popen changes directory before it drops root, so root's rights would hide a directory
        the job cannot use; a ``cd`` run as this user asks the kernel itself (ACLs included).
        """
        argv, args = self._probe(_cd(path))
        probe = await asyncio.create_subprocess_exec(*argv, **args)
        return await probe.wait() == 0

    def _probe(self, argv: list[str]) -> tuple[list[str], dict[str, Any]]:
        quiet = {"stdin": subprocess.DEVNULL, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        if self.setpriv is not None:
            return self.through_setpriv(argv), {**quiet, "env": {}}
        return argv, {**quiet, "env": {}, **self.spawn_args()}


def _cd(path: str) -> list[str]:
    return ["/bin/sh", "-c", 'cd -- "$1"', "sh", path]


def lookup(name: str) -> JobUser:
    """The user ``name`` (or a numeric uid), or JobUserError saying it does not exist."""
    try:
        entry = pwd.getpwuid(int(name)) if name.isdigit() else pwd.getpwnam(name)
    except KeyError:
        raise JobUserError(
            f"--job-user / HODEI_JOB_USER: there is no user {name!r} on this host; "
            f"give an existing user (default {DEFAULT_JOB_USER!r}) or create it"
        ) from None
    groups = tuple(os.getgrouplist(entry.pw_name, entry.pw_gid))
    return JobUser(entry.pw_name, entry.pw_uid, entry.pw_gid, groups, entry.pw_dir)


def trusted_setpriv(path: str = SETPRIV) -> str | None:
    """``path`` if it is a regular file that only root may have changed: it and every folder
    above it owned by root and not writable by group or others (the worker runs it as root for
    every job, and trusts no file it did not make otherwise); else None."""
    try:
        info = os.lstat(path)
        folders = [os.lstat(folder) for folder in _parents(path)]
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode) or not all(_root_only(i) for i in [info, *folders]):
        return None
    return path


def _parents(path: str) -> list[str]:
    parents = []
    while path != (path := os.path.dirname(path)):
        parents.append(path)
    return parents


def _root_only(info: os.stat_result) -> bool:
    return info.st_uid == 0 and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def resolve_job_user(requested: str | None) -> JobUser | None:
    """The user to switch jobs to, or None to run them as the worker's own user.

    As root: ``requested``, else ``nobody``, starting jobs in the worker's directory if that
    user may enter it, through ``/usr/bin/setpriv`` if it is trusted. Not as root: None, and
    JobUserError for any user other than the worker's own (only root may switch users).
    """
    if os.geteuid() == 0:
        user = replace(lookup(requested or DEFAULT_JOB_USER), setpriv=trusted_setpriv())
        # A job left in a directory its user may not enter fails at its first relative path.
        here = os.getcwd()
        argv, args = user._probe(_cd(here))
        if subprocess.run(argv, check=False, **args).returncode == 0:
            return replace(user, workdir=here)
        return user
    if requested is None or lookup(requested).uid == os.geteuid():
        return None
    try:
        me = repr(pwd.getpwuid(os.geteuid()).pw_name)
    except KeyError:
        me = f"uid {os.geteuid()}"
    raise JobUserError(
        f"--job-user / HODEI_JOB_USER: hodei-worker runs as {me}, not root, so its jobs can "
        f"only run as {me}; drop --job-user {requested}, or start hodei-worker as root"
    )


def job_environment(spec_env: Mapping[str, str], user: JobUser | None) -> dict[str, str]:
    """The environment a job starts with: the worker's, without a single ``HODEI_*`` variable
    (those are the worker's settings and credentials: join token, API token, their files), with
    the job user's HOME/USER/LOGNAME when it switches user, then the job's own ``env``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_OWN_PREFIX)}
    if user is not None:
        env.update(user.identity())
    env.update(spec_env)
    return env


def scrub_environment() -> None:
    """Remove every ``HODEI_*`` variable from this process's environment, once the settings
    have been read, so nothing the worker starts inherits its credentials."""
    for key in [k for k in os.environ if k.startswith(_OWN_PREFIX)]:
        del os.environ[key]
