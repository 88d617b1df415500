"""Worker failover: two hodeid on one PostgreSQL and one hodei-worker started with
``--server A,B``. Each run kills -9 the daemon the worker streams to and times how long until
the other daemon's ListWorkers shows it (polled every 20 ms), then starts the killed daemon
again on its port. Prints every run and the p50/p99; the target is attached elsewhere within 5 s.

    python scripts/bench/failover.py                  # N = 20, an embedded PostgreSQL of its own
    python scripts/bench/failover.py --n 20 --database-url postgresql://postgres@127.0.0.1/bench

Before each kill the worker has streamed to its daemon for ``--settle`` seconds (longer than
the 10 s after which the worker counts a stream healthy and starts its backoff over), as with a
daemon that dies now and then rather than one that crashes in a loop.
"""

from __future__ import annotations

import argparse
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
from pathlib import Path

from grpclib.exceptions import GRPCError, ProtocolError, StreamTerminatedError

from hodei_api import v1
from hodei_api.client import Client
from hodeid.store.embedded_server import EmbeddedServer

BIN = Path(sys.executable).parent
WORKER_ID = "bench-failover"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def listening(addr: str) -> bool:
    host, port = addr.rsplit(":", 1)
    with socket.socket() as probe:
        return probe.connect_ex((host, int(port))) == 0


class Daemon:
    """One hodeid on ``addr`` with its own data directory, started again the same way."""

    def __init__(self, addr: str, data_dir: Path, database_url: str, env: dict[str, str]) -> None:
        self.addr = addr
        self.data_dir = data_dir
        self.args = [
            str(BIN / "hodeid"), "--listen", addr, "--database-url", database_url,
            "--data-dir", str(data_dir), "--no-local-provider",
        ]  # fmt: skip
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(self.args, env=self.env)
        deadline = time.monotonic() + 60
        while not (self.data_dir / "admin.token").exists() or not listening(self.addr):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"hodeid on {self.addr} did not start")
            time.sleep(0.05)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(30)


async def attached(client: Client) -> bool:
    """Whether the worker streams to this daemon (False if it cannot be asked)."""
    try:
        listed = await asyncio.wait_for(client.workers.list_workers(v1.ListWorkersRequest()), 2)
    except (GRPCError, StreamTerminatedError, ProtocolError, OSError, TimeoutError):
        return False  # the daemon is starting, or just died: not attached there
    # The other daemons' workers are listed too, from the database's record: not attached here.
    return any(w.id == WORKER_ID and not w.from_record for w in listed.workers)


async def holder(clients: list[Client]) -> int:
    """The index of the daemon the worker streams to, once one lists it."""
    while True:
        for i, client in enumerate(clients):
            if await attached(client):
                return i
        await asyncio.sleep(0.05)


async def bench(daemons: list[Daemon], token: str, args: argparse.Namespace) -> list[float]:
    clients = [Client(d.addr, token) for d in daemons]
    times: list[float] = []
    try:
        for run in range(1, args.n + 1):
            async with asyncio.timeout(args.timeout):
                held = await holder(clients)
            await asyncio.sleep(args.settle)
            other = 1 - held
            killed_at = time.monotonic()
            daemons[held].kill()
            clients[held].close()
            async with asyncio.timeout(args.timeout):
                while not await attached(clients[other]):
                    await asyncio.sleep(0.02)
            took = time.monotonic() - killed_at
            times.append(took)
            print(f"run {run:3d}: killed {daemons[held].addr}, attached to {daemons[other].addr} "
                  f"after {took * 1000:.0f} ms", flush=True)  # fmt: skip
            daemons[held].start()
            clients[held] = Client(daemons[held].addr, token)
    finally:
        for client in clients:
            client.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=20, help="kills")
    parser.add_argument("--settle", type=float, default=11.0, help="seconds attached before each kill")
    parser.add_argument("--timeout", type=float, default=60.0, help="how long a failover may take")
    parser.add_argument("--database-url", help="use this PostgreSQL instead of an embedded one")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="hodei-bench-", dir="/var/tmp" if os.geteuid() == 0 else None))
    # As root the embedded server runs as hodei-postgres, which must enter the folder.
    root.chmod(0o711)
    postgres = None
    if args.database_url:
        database_url = args.database_url
    else:
        postgres = EmbeddedServer(root / "pg")
        postgres.prepare_data_dir()
        database_url = postgres.ensure_running()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HODEI_")}
    # One cluster join token for both daemons and the worker, as several daemons are run.
    env |= {
        "HODEI_CONFIG": "/nonexistent.toml",
        "HODEI_LOG_LEVEL": "WARNING",
        "HODEI_JOIN_TOKEN": "hodei-join-" + secrets.token_urlsafe(32),
    }
    daemons = [Daemon(f"127.0.0.1:{free_port()}", root / name, database_url, env) for name in ("a", "b")]
    worker = None
    try:
        for daemon in daemons:
            daemon.start()
        token = (daemons[0].data_dir / "admin.token").read_text().strip()
        worker = subprocess.Popen(
            [str(BIN / "hodei-worker"), "--server", ",".join(d.addr for d in daemons),
             "--id", WORKER_ID, "--state-dir", str(root / "worker")],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        print(f"two hodeid, one worker --server {daemons[0].addr},{daemons[1].addr}; "
              f"{args.n} kills, {os.cpu_count()} CPUs (shared?)", flush=True)  # fmt: skip
        times = asyncio.run(bench(daemons, token, args))
        print(f"attached to the other daemon after kill -9: p50 {percentile(times, 50) * 1000:.0f} ms, "
              f"p99 {percentile(times, 99) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms "
              f"over {len(times)} runs (target: within 5 s)")  # fmt: skip
    finally:
        if worker is not None:
            worker.send_signal(signal.SIGTERM)
            worker.wait(30)
        for daemon in daemons:
            daemon.stop()
        if postgres is not None:
            postgres.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
