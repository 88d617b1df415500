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
import time
from datetime import UTC, datetime
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event

from figures import cpu_seconds, percentile
from system import System

from hodei_api import v1
from hodei_api.client import Client, resolve_addr, resolve_token


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


async def watch(addr: str, token: str | None, lags: list[float], events: list[int], index: int) -> None:
    """Follow WatchJobs as a console does; note each SUCCEEDED event's lag behind the finish."""
    async with Client(addr, token) as client:
        async for event in client.jobs.watch_jobs(v1.WatchJobsRequest(limit=1)):
            events[index] += 1
            job = event.job
            if job is not None and job.state is v1.JobState.SUCCEEDED and job.finished_at:
                lags.append((datetime.now(UTC) - job.finished_at).total_seconds() * 1000)


async def watch_until_stopped(
    addr: str, token: str | None, watchers: int, stop: Event
) -> tuple[list[float], list[int]]:
    lags: list[float] = []
    events = [0] * watchers
    tasks = [asyncio.create_task(watch(addr, token, lags, events, i)) for i in range(watchers)]
    while not stop.is_set():
        await asyncio.sleep(0.1)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return lags, events


def watchers_process(
    addr: str, token: str | None, watchers: int, stop: Event, results: Queue[tuple[list[float], list[int]]]
) -> None:
    """The watchers in a process of their own: decoding their events does not slow the submitter."""
    results.put(asyncio.run(watch_until_stopped(addr, token, watchers, stop)))


async def bench(
    addr: str,
    token: str | None,
    args: argparse.Namespace,
    measured: dict[str, int],
) -> None:
    """Run the benchmark against ``addr``; ``measured`` names the processes whose CPU time per
    job to print, by pid."""
    n, concurrency, watchers = args.n, args.concurrency, args.watchers
    stop: Event = multiprocessing.Event()
    results: Queue[tuple[list[float], list[int]]] = multiprocessing.Queue()
    # Daemonic: a run stopped before ``stop`` is set ends it instead of waiting for it at exit.
    watching = multiprocessing.Process(
        target=watchers_process, args=(addr, token, watchers, stop, results), daemon=True
    )
    if watchers:
        watching.start()
        await asyncio.sleep(1.0)  # connected and listed before the first job
    async with Client(addr, token) as client, asyncio.timeout(args.timeout):
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
    if not args.spawn:
        asyncio.run(bench(resolve_addr(args.addr), resolve_token(), args, {}))
        return
    with System(args.database_url) as system:
        daemon = system.start_daemon()
        # One worker, started here: no local-provider workers besides it skewing the numbers.
        worker = system.start_worker(daemon, slots=args.slots)
        measured = {"hodeid": daemon.pid, "worker": worker.pid}
        asyncio.run(bench(daemon.addr, system.admin_token(), args, measured))


if __name__ == "__main__":
    main()
