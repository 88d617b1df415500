"""Starting a job's command in its own process group, and saying how it ended."""

from __future__ import annotations

import asyncio
import shutil
import signal
import subprocess

from hodei_api import v1
from hodei_worker.batcher import LineBatcher
from hodei_worker.errors import SpawnError
from hodei_worker.jobuser import JobUser, job_environment

_STREAMS = {1: v1.LogStream.STDOUT, 2: v1.LogStream.STDERR}


class _Pipes(asyncio.SubprocessProtocol):
    """Hands the child's output to the batcher as it arrives."""

    def __init__(self, batcher: LineBatcher, done: asyncio.Future[None]) -> None:
        self._batcher = batcher
        self._done = done

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        self._batcher.feed(_STREAMS[fd], data)

    def pipe_connection_lost(self, fd: int, exc: Exception | None) -> None:
        self._batcher.end(_STREAMS[fd])

    def connection_lost(self, exc: Exception | None) -> None:
        # asyncio calls this once the process has exited *and* both pipes are closed.
        if not self._done.done():
            self._done.set_result(None)


async def start_command(
    spec: v1.JobSpec, batcher: LineBatcher, done: asyncio.Future[None], user: JobUser | None = None
) -> asyncio.SubprocessTransport:
    """Start ``spec.command`` without a shell, its stdout and stderr feeding ``batcher``.

    It runs in a new session (so in its own process group, whose id is its pid), as ``user``
    with that user's groups (None: as the worker's user), with the environment of
    ``job_environment``, in ``spec.cwd`` (else the worker's, or the job user's ``workdir``) and
    with stdin from /dev/null.
    ``done`` resolves once it has exited and both pipes are closed. Raises ``SpawnError`` if
    it cannot start.
    """
    if not spec.command:
        raise SpawnError("cannot start the job: its command is empty", 127)
    if user is not None and spec.cwd and not await user.can_enter(spec.cwd):
        raise SpawnError(
            f"cannot start {spec.command[0]!r} in {spec.cwd!r}: the job user {user.name!r} "
            f"(uid {user.uid}) cannot enter it (missing, not a directory, or not permitted); give a "
            "directory that user may use, or start hodei-worker with another --job-user",
            126,
        )
    loop = asyncio.get_running_loop()
    env = job_environment(spec.env, user)
    try:
        transport, _ = await loop.subprocess_exec(
            lambda: _Pipes(batcher, done),
            *spec.command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            env=env,
            cwd=spec.cwd or (user.workdir if user is not None else None),
            **(user.spawn_args() if user is not None else {}),
        )
    except OSError as exc:
        program = spec.command[0]
        if spec.cwd and exc.filename == spec.cwd:
            raise SpawnError(f"cannot start {program!r} in {spec.cwd!r}: {exc.strerror}", 126) from exc
        code = 127 if isinstance(exc, FileNotFoundError) else 126
        if user is not None and isinstance(exc, PermissionError) and _nowhere_on_path(program, env):
            # A PATH entry the job user may not search (root's ~/.local/bin, say) turns "not
            # found" into EACCES; a program found nowhere, even by root, is simply not found.
            raise SpawnError(f"cannot start {program!r}: No such file or directory", 127) from exc
        raise SpawnError(f"cannot start {program!r}: {exc.strerror or exc}", code) from exc
    except ValueError as exc:  # for example a NUL byte in an argument
        raise SpawnError(f"cannot start {spec.command[0]!r}: {exc}", 126) from exc
    return transport


def _nowhere_on_path(program: str, env: dict[str, str]) -> bool:
    return "/" not in program and shutil.which(program, path=env.get("PATH")) is None


def describe_exit(returncode: int) -> str:
    """``exited with code 3`` or ``killed by signal 9 (SIGKILL)``, from a Popen returncode."""
    if returncode >= 0:
        return f"exited with code {returncode}"
    try:
        name = signal.Signals(-returncode).name
    except ValueError:
        return f"killed by signal {-returncode}"
    return f"killed by signal {-returncode} ({name})"
