"""How long the ``hodei`` command takes, start to exit: ``hodei --help``, and ``hodei job run --
true`` against a running daemon with an idle worker (targets: median <= 100 ms and <= 150 ms).
Prints the median, p90 and range over N runs of each of the wall time and of the CPU time the
command used (user + system, which a busy machine inflates less), next to a bare ``python -c
pass`` (the interpreter's own start on this machine) and the load average.

    python scripts/bench/cli_start.py [--runs 20] [--database-url URL]
    python scripts/bench/cli_start.py --addr 127.0.0.1:50051 [--runs 20]

Without ``--addr`` it starts hodeid (on the given database, else an embedded one, with no local
provider) and one hodei-worker on 127.0.0.1, and ends them by PID; with ``--addr`` the daemon
and its idle worker are yours, and ``HODEI_TOKEN`` / ``HODEI_TOKEN_FILE`` must give an admin
token. The hodei packages are byte-compiled first, as installing a wheel does, so that every
run measures an installed ``hodei`` rather than Python compiling its sources.
"""

from __future__ import annotations

import argparse
import compileall
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("hodei_api", "hodei_tui")
READY_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def spawn(database_url: str | None, data_dir: Path) -> tuple[list[subprocess.Popen[bytes]], dict[str, str]]:
    """hodeid and one idle worker on 127.0.0.1: the processes (worker first) and the environment
    that points a client at them, with the daemon's admin token as a local user's would."""
    addr = f"127.0.0.1:{free_port()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HODEI_")} | {
        "HODEI_ADDR": addr,
        "HODEI_CONFIG": "/nonexistent/hodeid.toml",
        "HODEI_LOG_LEVEL": "WARNING",
        "HODEI_TOKEN_FILE": str(data_dir / "admin.token"),
        "HODEI_JOIN_TOKEN_FILE": str(data_dir / "join.token"),
    }
    db = ["--database-url", database_url] if database_url else []
    # A state directory of its own: never the id and credential of a worker already on this host.
    state = ["--state-dir", str(data_dir / "worker-state")]
    # Their output goes to a file, so that what is printed is the figures; it is shown on failure.
    with (data_dir / "processes.log").open("ab") as log:
        daemon = subprocess.Popen(
            [str(BIN / "hodeid"), "--listen", addr, "--no-local-provider", "--data-dir", str(data_dir), *db],
            env=env,
            stdout=log,
            stderr=log,
        )
        deadline = time.monotonic() + READY_TIMEOUT
        # The worker reads the join token the daemon writes as it starts.
        while (
            not (data_dir / "join.token").exists() and daemon.poll() is None and time.monotonic() < deadline
        ):
            time.sleep(0.1)
        worker = subprocess.Popen(
            [str(BIN / "hodei-worker"), "--server", addr, "--slots", "1", *state],
            env=env,
            stdout=log,
            stderr=log,
        )
    return [worker, daemon], env


def wait_ready(env: Mapping[str, str], daemons: Sequence[subprocess.Popen[bytes]]) -> None:
    """Until one ``hodei job run -- true`` succeeds: the daemon listens and the worker is in."""
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        done = subprocess.run(
            [str(BIN / "hodei"), "job", "run", "--wait-timeout", "5", "--", "true"],
            env=env,
            capture_output=True,
            check=False,
        )
        if done.returncode == 0:
            return
        if any(proc.poll() is not None for proc in daemons) or time.monotonic() > deadline:
            sys.exit(f"hodeid and its worker were not ready: {done.stderr.decode().strip()}")
        time.sleep(0.2)


class Times(NamedTuple):
    """Per run: wall time, and the CPU time (user + system) the command itself used."""

    wall_ms: list[float]
    cpu_ms: list[float]


def timed(argv: Sequence[str], env: Mapping[str, str], runs: int) -> Times:
    """Run ``argv`` from start to exit ``runs`` times; any failure ends the bench."""
    times = Times([], [])
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
        times.wall_ms.append((time.perf_counter() - started) * 1000)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
        times.cpu_ms.append(cpu * 1000)
        if done.returncode != 0:
            sys.exit(f"{' '.join(argv)} exited {done.returncode}: {done.stderr.decode().strip()}")
    return times


def summary(values: list[float]) -> str:
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return (
        f"median {statistics.median(ordered):6.1f}  p90 {p90:6.1f}  range {ordered[0]:.1f}-{ordered[-1]:.1f}"
    )


def report(name: str, times: Times) -> None:
    print(f"{name:<22} wall ms: {summary(times.wall_ms)}   cpu ms: {summary(times.cpu_ms)}")


def bench(env: Mapping[str, str], runs: int) -> None:
    hodei = str(BIN / "hodei")
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "hodei --help": [hodei, "--help"],
        "hodei job run -- true": [hodei, "job", "run", "--", "true"],
    }
    load = os.getloadavg()[0]
    for argv in commands.values():  # warm the page cache for every program measured
        timed(argv, env, 2)
    for name, argv in commands.items():
        report(name, timed(argv, env, runs))
    after = os.getloadavg()[0]
    print(f"({runs} runs each; load average {load:.2f} before, {after:.2f} after, on {os.cpu_count()} CPUs)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=20, help="runs of each command")
    parser.add_argument("--addr", help="a running daemon with an idle worker (else one is started)")
    parser.add_argument("--database-url", help="without --addr: PostgreSQL for the daemon (else embedded)")
    args = parser.parse_args()
    for package in PACKAGES:
        compileall.compile_dir(ROOT / package, quiet=1)
    if args.addr:
        bench(os.environ | {"HODEI_ADDR": args.addr}, args.runs)
        return
    data_dir = Path(tempfile.mkdtemp(prefix="hodei-bench-", dir="/var/tmp" if os.geteuid() == 0 else None))
    # As root the embedded server runs as hodei-postgres, which must enter the data dir.
    data_dir.chmod(0o711)
    procs, env = spawn(args.database_url, data_dir)
    try:
        wait_ready(env, procs)
        bench(env, args.runs)
    except SystemExit:
        print((data_dir / "processes.log").read_text(errors="replace"), file=sys.stderr)
        raise
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
