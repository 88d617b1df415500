"""One embedded PostgreSQL server on a data directory: started, or found running, with its
socket in a private folder; and stopped."""

from __future__ import annotations

import logging
import os
import shlex
import shutil
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from hodeid import safepaths
from hodeid.errors import ConfigError, StoreError
from hodeid.store import embedded_binaries, embedded_cluster, embedded_socket
from hodeid.store.embedded_account import Account, check_reachable, server_account

log = logging.getLogger(__name__)

STOP_SECONDS = 15.0


@dataclass(frozen=True)
class Postmaster:
    """The running server as ``postmaster.pid`` describes it."""

    pid: int
    socket_dir: Path
    status: str


def alive(pid: int) -> bool:
    """Whether process ``pid`` exists and has not exited (a zombie has)."""
    try:
        with open(f"/proc/{pid}/stat") as stat_file:
            # The state follows the parenthesised name; a zombie has exited.
            return stat_file.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def postmaster(pgdata: Path) -> Postmaster | None:
    """The server running on ``pgdata``, or None."""
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
    except OSError:
        return None
    if len(lines) < 8 or not lines[0].strip().isdigit() or not alive(int(lines[0])):
        return None
    return Postmaster(int(lines[0]), Path(lines[4].strip()), lines[7].strip())


class EmbeddedServer:
    """The embedded PostgreSQL of ``data_dir`` (its cluster in ``DATA_DIR/pg``).

    As root the server runs as the ``hodei-postgres`` user from a private copy of the
    programs; the data directory must be reachable by that user (hodeid says how when it
    is not, and never changes the modes of folders it did not make).
    """

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.resolve()
        self.pgdata = self.data_dir / "pg"
        self.account: Account = server_account()

    def prepare_data_dir(self) -> None:
        """Make the data directory if missing (as root: group ``hodei-postgres`` may enter
        it, nobody else), then refuse it unless it is ours and the server can reach it."""
        if not self.data_dir.exists():
            # Refuse before making anything where the server's user could not go anyway.
            check_reachable(next(p for p in self.data_dir.parents if p.exists()), self.account)
            self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            if self.account.switch:
                os.chown(self.data_dir, os.geteuid(), self.account.gid)
                os.chmod(self.data_dir, 0o710)
        safepaths.check_dir(self.data_dir)
        check_reachable(self.data_dir, self.account)

    def ensure_running(self) -> str:
        """Start the server unless it runs; its URL. Call with the data directory's lock held."""
        secret = embedded_cluster.password(self.data_dir)
        running = postmaster(self.pgdata)
        if running is not None:
            return self._reuse(running, secret)
        return self._start(secret)

    def _reuse(self, running: Postmaster, secret: str) -> str:
        if not embedded_cluster.is_current(self.pgdata):
            raise ConfigError(
                f"an embedded PostgreSQL started by an older hodeid (pid {running.pid}) runs on "
                f"{self.pgdata} and trusts every local connection: stop the hodeid processes "
                f"using it (or 'kill {running.pid}') and start hodeid again"
            )
        embedded_socket.check_private(running.socket_dir, self.account)
        deadline = time.monotonic() + STOP_SECONDS
        while running.status != "ready" and time.monotonic() < deadline:
            time.sleep(0.05)
            again = postmaster(self.pgdata)
            if again is None:
                return self._start(secret)
            running = again
        log.info("embedded PostgreSQL already running on %s (pid %d)", self.pgdata, running.pid)
        return self.url(running.socket_dir, secret)

    def _start(self, secret: str) -> str:
        bin_dir = embedded_binaries.bin_dir(self.data_dir, private=self.account.switch)
        socket_dir = embedded_socket.make(self.data_dir, self.account)
        embedded_cluster.prepare(
            self.pgdata, bin_dir, self.account, secret, socket_dir, embedded_binaries.target_version()
        )
        options = f"-h '' -k {shlex.quote(str(socket_dir))}"
        started = time.monotonic()
        embedded_cluster.run(
            bin_dir, self.account, "pg_ctl", "start", "-w", "-t", "60", "-D", str(self.pgdata),
            "-l", str(self.pgdata / "log"), "-o", options,
        )  # fmt: skip
        running = postmaster(self.pgdata)
        if running is None:
            raise StoreError(
                f"the embedded PostgreSQL in {self.pgdata} stopped at once; see {self.pgdata / 'log'}"
            )
        log.info(
            "embedded PostgreSQL started on %s in %.2f s (pid %d, socket in %s)",
            self.pgdata, time.monotonic() - started, running.pid, socket_dir,
        )  # fmt: skip
        return self.url(socket_dir, secret)

    @staticmethod
    def url(socket_dir: Path, secret: str, database: str = "postgres") -> str:
        """The URL of ``database`` on the server listening in ``socket_dir``."""
        user = embedded_cluster.SUPERUSER
        return f"postgresql://{user}:{secret}@/{database}?host={quote(str(socket_dir), safe='/')}"

    def stop(self) -> None:
        """Stop the server (fast: open sessions end), wait until it is gone, and remove its
        temporary socket folder if it had one."""
        running = postmaster(self.pgdata)
        if running is None:
            return
        try:
            os.kill(running.pid, signal.SIGINT)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + STOP_SECONDS
        while alive(running.pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        if alive(running.pid):
            log.warning(
                "the embedded PostgreSQL (pid %d) did not stop in %g s; killing it", running.pid, STOP_SECONDS
            )
            os.kill(running.pid, signal.SIGKILL)
        if embedded_socket.is_temporary(running.socket_dir, self.data_dir):
            shutil.rmtree(running.socket_dir, ignore_errors=True)
