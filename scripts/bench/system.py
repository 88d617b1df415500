"""A Hodei system for one benchmark run: hodeid daemons on one PostgreSQL (the embedded one of
their shared data directory, or a scratch database made for the run on the server given by
URL) and hodei-worker agents, on 127.0.0.1 in a temporary folder. Every process is ended by its
PID when the run ends, however it ends (an error, Ctrl-C, SIGTERM), and the folder and the
scratch database are removed, so that runs never see each other's jobs, workers or daemons, and
none leaves a process behind.

    with System(args.database_url) as system:
        a, b = system.start_daemon(), system.start_daemon()
        system.start_worker(a, b, slots=4)
        token = system.admin_token()
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType, TracebackType
from typing import IO, Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from hodei_api.paths import ADMIN_TOKEN_FILE, JOIN_TOKEN_FILE
from hodeid.store.embedded_server import EmbeddedServer, postmaster

BIN = Path(sys.executable).parent
START_SECONDS = 60.0
STOP_SECONDS = 30.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def scratch_database(url: str) -> str:
    """A new, empty database on the server of ``url``, named for this run; its URL."""
    name = f"hodei_bench_{secrets.token_hex(4)}"
    asyncio.run(_admin(url, f'CREATE DATABASE "{name}"'))
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def drop_database(server_url: str, url: str) -> None:
    """Drop the database of ``url`` (made by ``scratch_database`` on the server of
    ``server_url``), whoever is still on it."""
    name = urlsplit(url).path.lstrip("/")
    asyncio.run(_admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _admin(url: str, statement: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to ``proc``'s PID, SIGKILL if it is still there after STOP_SECONDS; reaped."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Daemon:
    """One hodeid of the system on a port of its own, which it keeps when started again."""

    def __init__(self, system: System) -> None:
        self.system = system
        self.port = free_port()
        self.addr = f"127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> None:
        """Start hodeid and wait until it listens and its token files are written."""
        db = ["--database-url", self.system.database_url] if self.system.database_url else []
        data = ["--data-dir", str(self.system.data_dir)]
        # No local-provider workers: the benchmark's own workers are the only ones.
        argv = [str(BIN / "hodeid"), "--listen", self.addr, "--no-local-provider", *data, *db]
        self.proc = self.system.popen(argv, self.system.output)
        tokens = [self.system.data_dir / ADMIN_TOKEN_FILE, self.system.data_dir / JOIN_TOKEN_FILE]
        deadline = time.monotonic() + START_SECONDS
        while not (all(t.exists() for t in tokens) and listening(self.port)):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"hodeid on {self.addr} did not start")
            time.sleep(0.05)

    def kill(self) -> None:
        """kill -9 by PID, as a crash would."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()


class System:
    """Daemons and workers started by ``start_daemon`` and ``start_worker``, all ended on leaving
    the ``with`` block. With ``log``, their output goes to one file there, shown if the run fails
    (its figures then stand alone); else it goes where the benchmark's goes."""

    def __init__(self, database_url: str | None = None, *, log: bool = False) -> None:
        self.server_url = database_url
        """The PostgreSQL server given, if any; the run's own database is ``database_url``."""
        self.database_url: str | None = None
        # As root the embedded PostgreSQL runs as hodei-postgres, which must enter the folder
        # (/var/tmp: root's TMPDIR may be one it cannot reach).
        as_root = os.geteuid() == 0
        self.data_dir = Path(tempfile.mkdtemp(prefix="hodei-bench-", dir="/var/tmp" if as_root else None))
        self.data_dir.chmod(0o711)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("HODEI_")} | {
            "HODEI_CONFIG": "/nonexistent.toml",
            "HODEI_LOG_LEVEL": "WARNING",
            "HODEI_DATA_DIR": str(self.data_dir),
        }
        self.log = self.data_dir / "processes.log" if log else None
        self.output: IO[bytes] | None = self.log.open("ab") if self.log else None
        self.daemons: list[Daemon] = []
        self.workers: list[subprocess.Popen[bytes]] = []
        self._handlers: dict[int, Callable[[int, FrameType | None], Any] | int | None] = {}

    def __enter__(self) -> System:
        if self.server_url is not None:
            try:
                self.database_url = scratch_database(self.server_url)
            except BaseException:
                shutil.rmtree(self.data_dir, ignore_errors=True)
                raise
        # Without this SIGTERM (or a closed terminal) would end the script at once, leaving
        # its daemons and workers running.
        for sig in (signal.SIGTERM, signal.SIGHUP):
            self._handlers[sig] = signal.signal(sig, _exit_on_signal)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            failed = isinstance(exc, Exception) or (isinstance(exc, SystemExit) and isinstance(exc.code, str))
            self.close()
            if failed and self.log is not None:
                print(self.log.read_text(errors="replace"), file=sys.stderr)
        finally:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            for sig, handler in self._handlers.items():
                signal.signal(sig, handler)

    def popen(self, argv: list[str], output: IO[bytes] | int | None) -> subprocess.Popen[bytes]:
        return subprocess.Popen(argv, env=self.env, stdout=output, stderr=output)

    def start_daemon(self) -> Daemon:
        """A new hodeid, listening; the first one starts the embedded PostgreSQL if it is used."""
        daemon = Daemon(self)
        self.daemons.append(daemon)
        daemon.start()
        return daemon

    def start_worker(
        self,
        *servers: Daemon,
        slots: int | None = None,
        python_jobs: bool = False,
        quiet: bool = False,
        extra: tuple[str, ...] = (),
    ) -> subprocess.Popen[bytes]:
        """A hodei-worker streaming to the first of ``servers`` that answers (``--server A,B``).
        ``python_jobs``: its jobs run this interpreter, which a root worker's default job user
        (nobody) may not reach, so as root they run as root. ``quiet`` drops its output (a line
        per job started and ended would bury the figures)."""
        # A state directory of its own: the host's default one would give every worker one id.
        state = ["--state-dir", str(self.data_dir / f"worker-{len(self.workers)}")]
        argv = [str(BIN / "hodei-worker"), "--server", ",".join(d.addr for d in servers), *state]
        argv += ["--slots", str(slots)] if slots is not None else []
        argv += ["--job-user", "root"] if python_jobs and os.geteuid() == 0 else []
        worker = self.popen([*argv, *extra], subprocess.DEVNULL if quiet else self.output)
        self.workers.append(worker)
        return worker

    def admin_token(self) -> str:
        return (self.data_dir / ADMIN_TOKEN_FILE).read_text().strip()

    def client_env(self, daemon: Daemon) -> dict[str, str]:
        """The environment of a ``hodei`` command reaching ``daemon`` as the admin."""
        token_file = str(self.data_dir / ADMIN_TOKEN_FILE)
        return self.env | {"HODEI_ADDR": daemon.addr, "HODEI_TOKEN_FILE": token_file}

    def create_token(self, role: str, name: str) -> str:
        """A new API token (``hodeid token create``) in the system's database."""
        db = ["--database-url", self.database_url] if self.database_url else []
        argv = [str(BIN / "hodeid"), "--data-dir", str(self.data_dir), *db]
        made = subprocess.run(
            [*argv, "token", "create", "--role", role, "--name", name],
            env=self.env, capture_output=True, check=True, timeout=START_SECONDS,
        )  # fmt: skip
        return made.stdout.decode().strip()

    def close(self) -> None:
        """End the workers, then the daemons, by PID (both ask for a graceful stop at once),
        then the embedded PostgreSQL if no daemon was left to stop it (one killed, say)."""
        for group in (self.workers, [d.proc for d in self.daemons if d.proc is not None]):
            for proc in group:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            for proc in group:
                stop(proc)
        if self.server_url is not None and self.database_url is not None:
            drop_database(self.server_url, self.database_url)
        elif postmaster(self.data_dir / "pg") is not None:
            EmbeddedServer(self.data_dir).stop()
        if self.output is not None:
            self.output.close()


def _exit_on_signal(signum: int, frame: FrameType | None) -> None:
    sys.exit(128 + signum)
