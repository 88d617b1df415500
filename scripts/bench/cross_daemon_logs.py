"""Live log latency across daemons: two hodeid on one database, a worker on daemon A, and a
job printing a timestamped line every ``--interval`` seconds (``--lines`` of them). A follower
on daemon B (woken by PostgreSQL's notifications) and one on A (fed by A's log hub) stream it;
the script prints, for each, the p50/p99/max of (received by the follower - written by the
job), and checks that each got every line once, in order.

    python scripts/bench/cross_daemon_logs.py
    python scripts/bench/cross_daemon_logs.py --lines 200 --database-url postgresql://postgres@127.0.0.1/postgres

It starts both daemons (on the given database, else on one embedded PostgreSQL, which daemons
sharing a data directory share) and one hodei-worker on 127.0.0.1, and ends them by PID. The
latency includes the worker's batching (up to 50 ms for a line printed alone).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hodei_api import v1
from hodei_api.client import Client
from hodei_api.loglines import unpack

# The job: after a second (the followers are streaming by then), COUNT lines "N TIME" with
# the time each was written, one every INTERVAL seconds.
JOB = """
import sys, time
count, interval = int(sys.argv[1]), float(sys.argv[2])
time.sleep(1)
for n in range(1, count + 1):
    print(n, repr(time.time()), flush=True)
    time.sleep(interval)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def wait_port(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while True:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        if proc.poll() is not None or time.monotonic() > deadline:
            sys.exit(f"hodeid on port {port} did not start")
        time.sleep(0.1)


def spawn(database_url: str | None, data_dir: str, procs: list[subprocess.Popen[bytes]]) -> list[str]:
    """Daemons A and B and a worker on A, appended to ``procs``; the daemons' addresses."""
    bindir = Path(sys.executable).parent
    where = ["--data-dir", data_dir, *(["--database-url", database_url] if database_url else [])]
    env = {k: v for k, v in os.environ.items() if not k.startswith("HODEI_")}
    env |= {"HODEI_CONFIG": "/nonexistent.toml", "HODEI_LOG_LEVEL": "WARNING", "HODEI_DATA_DIR": data_dir}
    addrs = []
    for _ in range(2):
        port = free_port()
        addrs.append(f"127.0.0.1:{port}")
        listen = ["--listen", addrs[-1], "--no-local-provider"]
        procs.append(subprocess.Popen([str(bindir / "hodeid"), *listen, *where], env=env))
        wait_port(port, procs[-1])
    # The job is this interpreter, which a root worker's default job user (nobody) may not reach.
    as_root = ["--job-user", "root"] if os.geteuid() == 0 else []
    state = ["--state-dir", str(Path(data_dir) / "worker-state")]
    worker = [str(bindir / "hodei-worker"), "--server", addrs[0], "--slots", "1", *state, *as_root]
    procs.append(subprocess.Popen(worker, env=env))
    return addrs


async def follow(client: Client, job_id: str) -> list[tuple[int, float]]:
    """(line number, received - written in seconds) of each line the follower gets."""
    got = []
    request = v1.StreamLogsRequest(job_id=job_id, follow=True)
    async for chunk in client.logs.stream_logs(request):
        now = time.time()
        if chunk.lines is not None:
            for line in unpack(chunk.lines):
                number, written = line.data.split()
                got.append((int(number), now - float(written)))
    return got


def report(name: str, got: list[tuple[int, float]], lines: int) -> None:
    if (numbers := [n for n, _ in got]) != list(range(1, lines + 1)):
        sys.exit(f"the follower on {name} got lines {numbers[:20]}..., not 1 to {lines} once in order")
    ms = [latency * 1000 for _, latency in got]
    print(
        f"follower on {name}: p50 {percentile(ms, 50):.1f} ms, p99 {percentile(ms, 99):.1f} ms,"
        f" max {max(ms):.1f} ms ({lines} lines, each once, in order)"
    )


async def bench(args: argparse.Namespace, addrs: list[str], token: str) -> None:
    async with Client(addrs[0], token) as on_a, Client(addrs[1], token) as on_b:
        command = [sys.executable, "-c", JOB, str(args.lines), str(args.interval)]
        submitted = await on_a.jobs.submit_job(v1.SubmitJobRequest(spec=v1.JobSpec(command=command)))
        assert submitted.job is not None
        job_id = submitted.job.id
        async with asyncio.timeout(120 + args.lines * args.interval):
            got_b, got_a = await asyncio.gather(follow(on_b, job_id), follow(on_a, job_id))
    print(f"job {job_id}: {args.lines} lines, one every {args.interval * 1000:.0f} ms, worker on A")
    report("B (another daemon)", got_b, args.lines)
    report("A (the worker's daemon)", got_a, args.lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", help="PostgreSQL for both daemons (else embedded)")
    parser.add_argument("--lines", type=int, default=200)
    parser.add_argument("--interval", type=float, default=0.05, help="seconds between lines")
    args = parser.parse_args()
    data_dir = tempfile.mkdtemp(prefix="hodei-bench-", dir="/var/tmp" if os.geteuid() == 0 else None)
    # As root the embedded PostgreSQL runs as hodei-postgres, which must enter the data dir.
    os.chmod(data_dir, 0o711)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        addrs = spawn(args.database_url, data_dir, procs)
        token = (Path(data_dir) / "admin.token").read_text().strip()
        asyncio.run(bench(args, addrs, token))
    finally:
        # The worker first, then B, then A (the last one out stops the embedded PostgreSQL).
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
