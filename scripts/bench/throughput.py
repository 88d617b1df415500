"""Throughput of a running Hodei system: submit N `true` jobs, wait for all of them, print
jobs/s and the p50/p99 of submit->finished latency (from the daemon's own timestamps).

    python scripts/bench/throughput.py --n 2000 [--addr 127.0.0.1:50051] [--concurrency 64]
    python scripts/bench/throughput.py --n 2000 --spawn --slots 8   # starts hodeid + one worker
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hodei_api import v1
from hodei_api.client import Client, resolve_addr

TERMINAL = {v1.JobState.SUCCEEDED, v1.JobState.FAILED, v1.JobState.CANCELLED, v1.JobState.TIMED_OUT}


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def submit_all(client: Client, n: int, concurrency: int) -> list[str]:
    ids: list[str] = []
    sem = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with sem:
            spec = v1.JobSpec(name=f"bench-{i}", command=["true"])
            ids.append((await client.jobs.submit_job(v1.SubmitJobRequest(spec=spec))).job.id)

    await asyncio.gather(*(one(i) for i in range(n)))
    return ids


async def collect(client: Client, ids: list[str], timeout: float) -> list[v1.Job]:
    wanted = set(ids)
    deadline = time.monotonic() + timeout
    while True:
        found: dict[str, v1.Job] = {}
        token = ""
        while True:
            page = await client.jobs.list_jobs(v1.ListJobsRequest(limit=1000, page_token=token))
            found.update((j.id, j) for j in page.jobs if j.id in wanted)
            token = page.next_page_token
            if not token or len(found) == len(wanted):
                break
        done = [j for j in found.values() if j.state in TERMINAL]
        if len(done) == len(wanted):
            return done
        if time.monotonic() > deadline:
            sys.exit(f"timed out: {len(done)} of {len(wanted)} jobs finished")
        await asyncio.sleep(0.2)


async def bench(addr: str, n: int, concurrency: int, timeout: float) -> None:
    async with Client(addr) as client:
        started = time.monotonic()
        ids = await submit_all(client, n, concurrency)
        submitted = time.monotonic() - started
        jobs = await collect(client, ids, timeout)
    failed = [j for j in jobs if j.state is not v1.JobState.SUCCEEDED]
    latencies = [(j.finished_at - j.created_at).total_seconds() * 1000 for j in jobs if j.finished_at and j.created_at]
    first = min(j.created_at for j in jobs if j.created_at)
    last = max(j.finished_at for j in jobs if j.finished_at)
    span = (last - first).total_seconds()
    print(f"jobs            {n} ({len(failed)} not SUCCEEDED)")
    print(f"submit rate     {n / submitted:,.0f} jobs/s ({submitted:.2f} s, concurrency {concurrency})")
    print(f"throughput      {n / span:,.0f} jobs/s (first submit to last finish: {span:.2f} s)")
    print(f"latency p50     {percentile(latencies, 50):.1f} ms (submit -> finished)")
    print(f"latency p99     {percentile(latencies, 99):.1f} ms")


def spawn(slots: int, database_url: str | None) -> list[subprocess.Popen[bytes]]:
    bindir = Path(sys.executable).parent
    port = "50591"
    data = tempfile.mkdtemp(prefix="hodei-bench-", dir="/var/tmp" if os.geteuid() == 0 else None)
    db = ["--database-url", database_url] if database_url else ["--data-dir", data]
    env = os.environ | {"HODEI_CONFIG": "/nonexistent.toml", "HODEI_LOG_LEVEL": "WARNING"}
    daemon = subprocess.Popen([bindir / "hodeid", "--listen", f"127.0.0.1:{port}", *db], env=env)
    time.sleep(3)
    worker = subprocess.Popen([bindir / "hodei-worker", "--server", f"127.0.0.1:{port}", "--slots", str(slots)], env=env)
    time.sleep(1)
    os.environ["HODEI_ADDR"] = f"127.0.0.1:{port}"
    return [worker, daemon]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--addr")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--spawn", action="store_true", help="start hodeid and one worker for the run")
    parser.add_argument("--slots", type=int, default=8, help="worker slots with --spawn")
    parser.add_argument("--database-url", help="with --spawn: use this PostgreSQL instead of embedded")
    args = parser.parse_args()
    procs = spawn(args.slots, args.database_url) if args.spawn else []
    try:
        asyncio.run(bench(resolve_addr(args.addr), args.n, args.concurrency, args.timeout))
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)


if __name__ == "__main__":
    main()
