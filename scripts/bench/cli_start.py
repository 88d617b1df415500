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
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from figures import percentile
from system import System

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("hodei_api", "hodei_tui")
READY_TIMEOUT = 60.0


def wait_ready(env: Mapping[str, str], system: System) -> None:
    """Until one ``hodei job run -- true`` succeeds: the worker is in."""
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
        exited = [d.proc for d in system.daemons if d.proc is not None] + system.workers
        if any(proc.poll() is not None for proc in exited) or time.monotonic() > deadline:
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
    p90 = percentile(ordered, 90)
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
    # The processes' output goes to a file, so that what is printed is the figures; it is shown
    # on failure.
    with System(args.database_url, log=True) as system:
        daemon = system.start_daemon()
        system.start_worker(daemon, slots=1)
        env = system.client_env(daemon)
        wait_ready(env, system)
        bench(env, args.runs)


if __name__ == "__main__":
    main()
