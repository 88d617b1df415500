"""Which OS user a job runs as, and the environment it starts with.

A worker running as root runs its jobs as an unprivileged user (``nobody`` by default, as
Nomad's exec driver does), so a job cannot read the worker's credentials, the daemon's tokens
or anything else only root may read. A worker not running as root can only run jobs as itself.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from hodei_worker.errors import JobUserError

DEFAULT_JOB_USER = "nobody"
"""Who a root worker's jobs run as unless ``--job-user`` says otherwise."""

_OWN_PREFIX = "HODEI_"


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

    def spawn_args(self) -> dict[str, Any]:
        """``subprocess.Popen`` arguments that make the child this user, with its groups."""
        return {"user": self.uid, "group": self.gid, "extra_groups": list(self.groups)}

    def identity(self) -> dict[str, str]:
        """HOME, USER and LOGNAME as a login of this user would have them."""
        return {"HOME": self.home, "USER": self.name, "LOGNAME": self.name}

    async def can_enter(self, path: str) -> bool:
        """Whether this user may make ``path`` its working directory.

        Popen changes directory before it drops root, so root's rights would hide a directory
        the job cannot use; a ``cd`` run as this user asks the kernel itself (ACLs included).
        """
        probe = await asyncio.create_subprocess_exec(*_cd(path), **self._probe_args())
        return await probe.wait() == 0

    def _probe_args(self) -> dict[str, Any]:
        quiet = {"stdin": subprocess.DEVNULL, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        return {**quiet, "env": {}, **self.spawn_args()}


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


def resolve_job_user(requested: str | None) -> JobUser | None:
    """The user to switch jobs to, or None to run them as the worker's own user.

    As root: ``requested``, else ``nobody``, starting jobs in the worker's directory if that
    user may enter it. Not as root: None, and JobUserError for any
    user other than the worker's own (only root may switch users).
    """
    if os.geteuid() == 0:
        user = lookup(requested or DEFAULT_JOB_USER)
        # A job left in a directory its user may not enter fails at its first relative path.
        here = os.getcwd()
        if subprocess.run(_cd(here), check=False, **user._probe_args()).returncode == 0:
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
