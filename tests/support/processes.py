"""Real hodeid and hodei-worker processes for end-to-end tests, each ended by its PID."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening on {port}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listened on 127.0.0.1:{port} within {timeout} s")


def kill(proc: subprocess.Popen[bytes]) -> None:
    """kill -9 ``proc`` by its PID and reap it."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


def stop(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
    """End ``proc`` by its PID: ``sig`` first, SIGKILL if it lingers."""
    if proc.poll() is None:
        os.kill(proc.pid, sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


@dataclass
class Cluster:
    """A daemon on a free loopback port and the workers started against it."""

    database_url: str
    log_dir: Path
    port: int = field(default_factory=free_port)
    # Off unless a test asks: tests that start their own workers expect no others.
    local_provider: bool = False
    # Added to every process's environment (HODEI_TLS_CA, ...).
    extra_env: dict[str, str] = field(default_factory=dict)
    daemon: subprocess.Popen[bytes] | None = None
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    # How the daemon was last started, so that it can be started again the same way.
    _daemon_args: tuple[list[str], dict[str, str]] | None = None

    @property
    def addr(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def data_dir(self) -> Path:
        """The daemon's data directory, where it writes admin.token and join.token."""
        return self.log_dir / "data"

    def env(self) -> dict[str, str]:
        """The environment of every process: the daemon's address, and the token files the
        daemon wrote, so the CLI authenticates and workers join as a local user's would."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("HODEI_")}
        env["HODEI_ADDR"] = self.addr
        env["HODEI_CONFIG"] = "/nonexistent/hodeid.toml"
        env["HODEI_TOKEN_FILE"] = str(self.data_dir / "admin.token")
        env["HODEI_JOIN_TOKEN_FILE"] = str(self.data_dir / "join.token")
        return {**env, **self.extra_env}

    def admin_token(self) -> str:
        """The admin token the daemon wrote on its first start."""
        return (self.data_dir / "admin.token").read_text().strip()

    def start_daemon(self, *extra: str, env: Mapping[str, str] | None = None) -> subprocess.Popen[bytes]:
        """Start hodeid with flags ``extra`` and variables ``env`` added to the cluster's."""
        env = {
            **self.env(),
            "HODEI_SCHEDULER__TICK_SECONDS": "0.2",
            "HODEI_SCHEDULER__HEARTBEAT_INTERVAL_SECONDS": "1",
            **(env or {}),
        }
        args = [
            str(BIN / "hodeid"), "--listen", self.addr, "--database-url", self.database_url,
            "--data-dir", str(self.data_dir), *extra,
        ]  # fmt: skip
        if not self.local_provider:
            args.append("--no-local-provider")
        self._daemon_args = (args, env)
        return self._spawn_daemon()

    def restart_daemon(self, sig: int = signal.SIGKILL) -> subprocess.Popen[bytes]:
        """End the daemon with ``sig`` (kill -9 unless told) and start it again as it was
        started, on the same port."""
        assert self.daemon is not None and self._daemon_args is not None
        stop(self.daemon, sig)
        return self._spawn_daemon()

    def _spawn_daemon(self) -> subprocess.Popen[bytes]:
        assert self._daemon_args is not None
        args, env = self._daemon_args
        with (self.log_dir / "hodeid.log").open("ab") as log:
            self.daemon = subprocess.Popen(args, stdout=log, stderr=log, env=env)
        wait_port(self.port, self.daemon)
        return self.daemon

    def start_worker(
        self,
        *extra: str,
        server: str | None = None,
        env: Mapping[str, str] | None = None,
        state_dir: Path | None = None,
        wrapper: Sequence[str] = (),
    ) -> subprocess.Popen[bytes]:
        """Start hodei-worker with flags ``extra`` and variables ``env`` added to the cluster's,
        connecting to ``server`` (default: the daemon), keeping its id and credential in
        ``state_dir`` (default: a directory of its own under the log dir, so tests never share
        one nor touch the user's), through the command ``wrapper`` if one is given (setpriv …)."""
        state_dir = state_dir or self.log_dir / f"worker-{len(self.workers)}-state"
        args = [
            *wrapper, str(BIN / "hodei-worker"),
            "--server", server or self.addr, "--state-dir", str(state_dir), *extra,
        ]  # fmt: skip
        with (self.log_dir / f"worker-{len(self.workers)}.log").open("ab") as log:
            proc = subprocess.Popen(args, stdout=log, stderr=log, env={**self.env(), **(env or {})})
        self.workers.append(proc)
        return proc

    def hodei(
        self,
        *args: str,
        timeout: float = 60.0,
        input: bytes | None = None,
        env: Mapping[str, str] | None = None,
    ) -> subprocess.CompletedProcess[bytes]:
        """Run the ``hodei`` CLI against this cluster, with variables ``env`` added to the cluster's."""
        return subprocess.run(
            [str(BIN / "hodei"), *args],
            capture_output=True,
            env={**self.env(), **(env or {})},
            timeout=timeout,
            input=input,
        )

    def hodeid(self, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[bytes]:
        """Run a ``hodeid`` command (``token create``, ...) on this cluster's database and data dir."""
        where = ["--database-url", self.database_url, "--data-dir", str(self.data_dir)]
        return subprocess.run(
            [str(BIN / "hodeid"), *where, *args], capture_output=True, env=self.env(), timeout=timeout
        )

    def logs(self) -> str:
        return "\n".join(
            f"== {p.name}\n{p.read_text(errors='replace')}" for p in sorted(self.log_dir.glob("*.log"))
        )

    def close(self) -> None:
        for proc in self.workers:
            stop(proc)
        if self.daemon is not None:
            stop(self.daemon)


@contextmanager
def cluster(database_url: str, log_dir: Path, workers: Sequence[Sequence[str]] = ()) -> Iterator[Cluster]:
    c = Cluster(database_url, log_dir)
    try:
        c.start_daemon()
        for extra in workers:
            c.start_worker(*extra)
        yield c
    finally:
        c.close()
