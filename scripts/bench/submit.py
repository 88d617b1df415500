"""SubmitJob alone: start hodeid with no worker, submit N `true` jobs one after another from one
client (each awaited before the next, as a script would), and print the p50/p99 of one
SubmitJob's wall time and the CPU time hodeid spent per submit (from /proc; Linux only). The
jobs stay PENDING, so this measures the submit path: token check, limit, insert, response.

    python scripts/bench/submit.py --n 2000 [--database-url URL]
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
from hodei_api.client import Client, resolve_token


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def bench(addr: str, n: int, daemon: int) -> None:
    spec = v1.JobSpec(name="submit-bench", command=["true"])
    async with Client(addr, resolve_token()) as client:
        for _ in range(50):  # warm up: connection, token verified, statements prepared
            await client.jobs.submit_job(v1.SubmitJobRequest(spec=spec))
        times: list[float] = []
        cpu = cpu_seconds(daemon)
        started = time.perf_counter()
        for _ in range(n):
            begun = time.perf_counter()
            await client.jobs.submit_job(v1.SubmitJobRequest(spec=spec))
            times.append((time.perf_counter() - begun) * 1000)
        wall = time.perf_counter() - started
        cpu = cpu_seconds(daemon) - cpu
    print(f"submits         {n} one after another ({n / wall:,.0f}/s)")
    print(f"submit p50      {percentile(times, 50):.2f} ms")
    print(f"submit p99      {percentile(times, 99):.2f} ms")
    print(f"hodeid CPU      {cpu / n * 1000:.2f} ms/submit ({cpu:.1f} s)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--database-url", help="use this PostgreSQL instead of an embedded one")
    args = parser.parse_args()
    data_dir = tempfile.mkdtemp(prefix="hodei-bench-", dir="/var/tmp" if os.geteuid() == 0 else None)
    # As root the embedded server runs as hodei-postgres, which must enter the data dir.
    os.chmod(data_dir, 0o711)
    os.environ["HODEI_DATA_DIR"] = data_dir  # where this script finds admin.token
    port = free_port()
    db = ["--database-url", args.database_url] if args.database_url else []
    env = os.environ | {"HODEI_CONFIG": "/nonexistent.toml", "HODEI_LOG_LEVEL": "WARNING"}
    hodeid = str(Path(sys.executable).parent / "hodeid")
    cmd = [hodeid, "--listen", f"127.0.0.1:{port}", "--no-local-provider", "--data-dir", data_dir, *db]
    daemon = subprocess.Popen(cmd, env=env)
    try:
        deadline = time.monotonic() + 60
        while True:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if daemon.poll() is not None or time.monotonic() > deadline:
                sys.exit("hodeid did not start")
            time.sleep(0.1)
        asyncio.run(bench(f"127.0.0.1:{port}", args.n, daemon.pid))
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(30)
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
