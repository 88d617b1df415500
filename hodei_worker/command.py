"""Starting a job's command in its own process group, and saying how it ended and what it used."""

from __future__ import annotations

import asyncio
import shutil
import signal
import subprocess
import time
from functools import partial
from typing import Any

from hodei_api import v1
from hodei_worker.batcher import LineBatcher
from hodei_worker.errors import SpawnError
from hodei_worker.execcheck import surely_runs
from hodei_worker.jobuser import JobUser, job_environment
from hodei_worker.reaping import Exit, reap

_STREAMS = (v1.LogStream.STDOUT, v1.LogStream.STDERR)


class Running:
    """A job's started process: its pid (also its process group's id), and its end.

    ``done`` resolves once the process has exited *and* both its pipes are closed (what its
    children left writing to them included); then ``returncode`` and ``usage`` are known.
    """

    def __init__(self, process: subprocess.Popen[bytes], began: float) -> None:
        self.pid = process.pid
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transports: list[asyncio.BaseTransport] = []
        self._began = began
        self._open = set(_STREAMS)
        self._exit: Exit | None = None
        self._wall = 0.0
        reap(process).add_done_callback(self._exited)

    @property
    def returncode(self) -> int:
        """As ``Popen.returncode``: the exit code, or minus the signal that killed it."""
        assert self._exit is not None, "known once done"
        return self._exit.returncode

    def usage(self) -> v1.Usage | None:
        """What the kernel counted for the process and the descendants it waited for, and the
        time from just before its spawn to its exit; None if it is lost (reaped elsewhere)."""
        if self._exit is None or (rusage := self._exit.rusage) is None:
            return None
        return v1.Usage(
            cpu_user_seconds=rusage.cpu_user_seconds,
            cpu_system_seconds=rusage.cpu_system_seconds,
            max_rss_bytes=rusage.max_rss_bytes,
            wall_seconds=self._wall,
        )

    def close(self) -> None:
        """Close its pipes (the output still unread is dropped)."""
        for transport in self.transports:
            transport.close()

    def pipe_closed(self, stream: v1.LogStream) -> None:
        self._open.discard(stream)
        self._check()

    def _exited(self, ended: asyncio.Future[Exit]) -> None:
        self._wall = time.monotonic() - self._began
        self._exit = ended.result()
        self._check()

    def _check(self) -> None:
        if self._exit is not None and not self._open and not self.done.done():
            self.done.set_result(None)


class _Pipe(asyncio.Protocol):
    """Hands one of the child's output streams to the batcher as it arrives."""

    def __init__(self, batcher: LineBatcher, stream: v1.LogStream, running: Running) -> None:
        self._batcher = batcher
        self._stream = stream
        self._running = running

    def data_received(self, data: bytes) -> None:
        self._batcher.feed(self._stream, data)

    def connection_lost(self, exc: Exception | None) -> None:
        self._batcher.end(self._stream)
        self._running.pipe_closed(self._stream)


async def start_command(spec: v1.JobSpec, batcher: LineBatcher, user: JobUser | None = None) -> Running:
    """Start ``spec.command`` without a shell, its stdout and stderr feeding ``batcher``.

    It runs in a new session (so in its own process group, whose id is its pid), as ``user``
    with that user's groups (None: as the worker's user), with the environment of
    ``job_environment``, in ``spec.cwd`` (else the worker's, or the job user's ``workdir``) and
    with stdin from /dev/null. The worker waits for it itself (``reaping``), not asyncio, to
    read its rusage. Raises ``SpawnError`` if it cannot start.
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
    began = time.monotonic()
    try:
        process = _spawn(spec, env, user)
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
    running = Running(process, began)
    for pipe, stream in zip((process.stdout, process.stderr), _STREAMS, strict=True):
        transport, _ = await loop.connect_read_pipe(partial(_Pipe, batcher, stream, running), pipe)
        running.transports.append(transport)
    return running


def _spawn(spec: v1.JobSpec, env: dict[str, str], user: JobUser | None) -> subprocess.Popen[bytes]:
    # Blocking only for the fork and exec, as asyncio's own subprocess_exec is: it calls the
    # same Popen on the event loop's thread.
    cwd = spec.cwd or (user.workdir if user is not None else None)
    argv, switch = launch(spec.command, env, cwd, user)
    return subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        bufsize=0,
        start_new_session=True,
        env=env,
        cwd=cwd,
        **switch,
    )


def launch(
    command: list[str], env: dict[str, str], cwd: str | None, user: JobUser | None
) -> tuple[list[str], dict[str, Any]]:
    """The argv and Popen arguments that run ``command`` as ``user``.

    Through setpriv when it is trusted and the program surely execs (Popen then vforks: a
    tenth of a millisecond where forking the worker takes milliseconds); else with Popen's
    own switch, which forks but reports a failing exec itself, as the messages of
    ``start_command`` need. A program that passes the check and still fails in setpriv (an ELF
    whose loader is missing, a file being written, a security module's refusal) ends with
    setpriv's ``failed to execute`` on stderr and exit code 127 or 126.
    """
    if user is None:
        return command, {}
    if user.setpriv is not None and surely_runs(command[0], env, cwd or ".", user):
        return user.through_setpriv(command), {}
    return command, user.spawn_args()


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
