"""Throughput of a running Hodei system (to itself: run it against a daemon with no other
work): submit N `true` jobs, wait for all of them, print
jobs/s and the p50/p99 of submit->finished latency (from the daemon's own timestamps).

    python scripts/bench/throughput.py --n 2000 [--addr 127.0.0.1:50051] [--concurrency 64]
    python scripts/bench/throughput.py --n 2000 --spawn --slots 8   # starts hodeid + one worker
    python scripts/bench/throughput.py --n 2000 --spawn --watchers 4   # and 4 consoles' WatchJobs

With ``--spawn`` it also prints the CPU time hodeid and the worker spent per job (user + system,
from /proc, between the first submit and the last job's end; Linux only).

With ``--watchers`` it also prints how many job events each watcher got and the lag from a job's
finish (the daemon's timestamp) to its SUCCEEDED event reaching the watcher.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from pathlib import Path

from hodei_api import v1
from hodei_api.client import Client, resolve_addr, resolve_token


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def submit_all(client: Client, n: int, concurrency: int) -> list[str]:
    ids: list[str] = []
    sem = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with sem:
            spec = v1.JobSpec(name=f"bench-{i}", command=["true"])
            job = (await client.jobs.submit_job(v1.SubmitJobRequest(spec=spec))).job
            assert job is not None
            ids.append(job.id)

    await asyncio.gather(*(one(i) for i in range(n)))
    return ids


async def collect(client: Client, ids: list[str]) -> list[v1.Job]:
    """Wait until no job is active (cheap: one row asked for), then read ours once."""
    active = [v1.JobState.PENDING, v1.JobState.ASSIGNED, v1.JobState.RUNNING]
    while (await client.jobs.list_jobs(v1.ListJobsRequest(states=active, limit=1))).jobs:
        await asyncio.sleep(0.05)
    wanted = set(ids)
    found: list[v1.Job] = []
    token = ""
    while True:
        page = await client.jobs.list_jobs(v1.ListJobsRequest(limit=1000, page_token=token))
        found += [j for j in page.jobs if j.id in wanted]
        token = page.next_page_token
        if not token or len(found) == len(wanted):
            return found


async def watch(addr: str, lags: list[float], events: list[int], index: int) -> None:
    """Follow WatchJobs as a console does; note each SUCCEEDED event's lag behind the finish."""
    async with Client(addr, resolve_token()) as client:
        async for event in client.jobs.watch_jobs(v1.WatchJobsRequest(limit=1)):
            events[index] += 1
            job = event.job
            if job is not None and job.state is v1.JobState.SUCCEEDED and job.finished_at:
                lags.append((datetime.now(UTC) - job.finished_at).total_seconds() * 1000)


async def watch_until_stopped(addr: str, watchers: int, stop: Event) -> tuple[list[float], list[int]]:
    lags: list[float] = []
    events = [0] * watchers
    tasks = [asyncio.create_task(watch(addr, lags, events, i)) for i in range(watchers)]
    while not stop.is_set():
        await asyncio.sleep(0.1)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return lags, events


def watchers_process(
    addr: str, watchers: int, stop: Event, results: Queue[tuple[list[float], list[int]]]
) -> None:
    """The watchers in a process of their own: decoding their events does not slow the submitter."""
    results.put(asyncio.run(watch_until_stopped(addr, watchers, stop)))


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def bench(
    addr: str, n: int, concurrency: int, limit: float, watchers: int, measured: dict[str, int]
) -> None:
    """Run the benchmark against ``addr``; ``measured`` names the processes whose CPU time per
    job to print, by pid."""
    stop: Event = multiprocessing.Event()
    results: Queue[tuple[list[float], list[int]]] = multiprocessing.Queue()
    watching = multiprocessing.Process(target=watchers_process, args=(addr, watchers, stop, results))
    if watchers:
        watching.start()
        await asyncio.sleep(1.0)  # connected and listed before the first job
    async with Client(addr, resolve_token()) as client, asyncio.timeout(limit):
        cpu_before = {name: cpu_seconds(pid) for name, pid in measured.items()}
        started = time.monotonic()
        ids = await submit_all(client, n, concurrency)
        submitted = time.monotonic() - started
        jobs = await collect(client, ids)
        cpu = {name: cpu_seconds(pid) - cpu_before[name] for name, pid in measured.items()}
    if watchers:
        await asyncio.sleep(1.0)  # the last events are on their way
        stop.set()
        lags, events = results.get(timeout=30)
        watching.join(30)
    failed = [j for j in jobs if j.state is not v1.JobState.SUCCEEDED]
    latencies = [
        (j.finished_at - j.created_at).total_seconds() * 1000 for j in jobs if j.finished_at and j.created_at
    ]
    first = min(j.created_at for j in jobs if j.created_at)
    last = max(j.finished_at for j in jobs if j.finished_at)
    span = (last - first).total_seconds()
    print(f"jobs            {n} ({len(failed)} not SUCCEEDED)")
    print(f"submit rate     {n / submitted:,.0f} jobs/s ({submitted:.2f} s, concurrency {concurrency})")
    print(f"throughput      {n / span:,.0f} jobs/s (first submit to last finish: {span:.2f} s)")
    print(f"latency p50     {percentile(latencies, 50):.1f} ms (submit -> finished)")
    print(f"latency p99     {percentile(latencies, 99):.1f} ms")
    for name, seconds in cpu.items():
        print(f"{name + ' CPU':<15} {seconds / n * 1000:.2f} ms/job ({seconds:.1f} s)")
    if watchers:
        print(f"watchers        {watchers}, job events each: {', '.join(map(str, events))}")
        print(f"watch lag p50   {percentile(lags, 50):.1f} ms (finished -> SUCCEEDED event seen)")
        print(f"watch lag p99   {percentile(lags, 99):.1f} ms")
    for job in failed[:5]:
        print(f"not SUCCEEDED   {job.id} {job.state.name}: {job.reason}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def spawn(slots: int, database_url: str | None, data_dir: str) -> list[subprocess.Popen[bytes]]:
    """hodeid (embedded PostgreSQL in ``data_dir`` unless a URL is given) and one worker."""
    bindir = Path(sys.executable).parent
    port = free_port()
    addr = f"127.0.0.1:{port}"
    db = ["--database-url", database_url] if database_url else []
    # The worker and this script find the daemon's join.token and admin.token there.
    os.environ["HODEI_DATA_DIR"] = data_dir
    env = os.environ | {"HODEI_CONFIG": "/nonexistent.toml", "HODEI_LOG_LEVEL": "WARNING"}
    # One worker, started here: no local-provider workers besides it skewing the numbers.
    args = ["--listen", addr, "--no-local-provider", "--data-dir", data_dir, *db]
    daemon = subprocess.Popen([str(bindir / "hodeid"), *args], env=env)
    deadline = time.monotonic() + 60
    while True:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                break
        if daemon.poll() is not None or time.monotonic() > deadline:
            sys.exit("hodeid did not start")
        time.sleep(0.1)
    # A state dir of its own: the host's default one would give every bench's worker one id.
    state = ["--state-dir", f"{data_dir}/worker"]
    worker = [str(bindir / "hodei-worker"), "--server", addr, "--slots", str(slots), *state]
    os.environ["HODEI_ADDR"] = addr
    return [subprocess.Popen(worker, env=env), daemon]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--addr")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--spawn", action="store_true", help="start hodeid and one worker for the run")
    parser.add_argument("--slots", type=int, default=8, help="worker slots with --spawn")
    parser.add_argument("--database-url", help="with --spawn: use this PostgreSQL instead of embedded")
    parser.add_argument("--watchers", type=int, default=0, help="WatchJobs streams open during the run")
    args = parser.parse_args()
    data_dir = tempfile.mkdtemp(prefix="hodei-bench-", dir="/var/tmp" if os.geteuid() == 0 else None)
    # As root the embedded server runs as hodei-postgres, which must enter the data dir.
    os.chmod(data_dir, 0o711)
    procs = spawn(args.slots, args.database_url, data_dir) if args.spawn else []
    measured = {"hodeid": procs[1].pid, "worker": procs[0].pid} if procs else {}
    try:
        asyncio.run(
            bench(resolve_addr(args.addr), args.n, args.concurrency, args.timeout, args.watchers, measured)
        )
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
