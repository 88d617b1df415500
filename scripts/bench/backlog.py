"""Runnable jobs behind a backlog of jobs no worker can take (issue 12, target 4): starts
hodeid and one worker, then prints, without a backlog and again with K jobs queued ahead that
ask for a label no worker has (priority 5, no provider):

- start latency of 100 runnable jobs submitted one after another (created -> started, from
  the daemon's and worker's timestamps): p50, p99, max;
- dispatch rate: N `true` jobs submitted with 64 in flight, first submit to last finish;
- the daemon's CPU while idle (from /proc/PID/stat over --idle seconds).

    python scripts/bench/backlog.py                        # K = 100,000, embedded PostgreSQL
    python scripts/bench/backlog.py --backlog 3000 --database-url postgresql://postgres@127.0.0.1/bench

The backlog is submitted through the API, 64 in flight, spread over several API tokens (each
token may hold limits.max_pending_per_submitter PENDING jobs, and counting them is part of
every submit). Jobs that have not started within --wait seconds are reported as such.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

from figures import cpu_seconds, percentile
from system import System

from hodei_api import v1
from hodei_api.client import Client

PER_TOKEN = 5000
IN_FLIGHT = 64


async def cpu_percent(pid: int, seconds: float) -> float:
    before, started = cpu_seconds(pid), time.monotonic()
    await asyncio.sleep(seconds)
    return 100 * (cpu_seconds(pid) - before) / (time.monotonic() - started)


async def submit(clients: list[Client], specs: list[v1.JobSpec], in_flight: int = IN_FLIGHT) -> list[str]:
    """Submit ``specs``, ``in_flight`` at a time, spreading job i over client i // PER_TOKEN."""
    ids = [""] * len(specs)
    sem = asyncio.Semaphore(in_flight)

    async def one(i: int) -> None:
        async with sem:
            client = clients[min(i // PER_TOKEN, len(clients) - 1)]
            job = (await client.jobs.submit_job(v1.SubmitJobRequest(spec=specs[i]))).job
            assert job is not None
            ids[i] = job.id

    await asyncio.gather(*(one(i) for i in range(len(specs))))
    return ids


async def finished(client: Client, ids: list[str], wait: float) -> dict[str, v1.Job]:
    """The jobs among ``ids`` that finished within ``wait`` seconds. It waits on one job at a
    time, in order (cheap for the daemon, unlike listing every finished job on each look),
    then reads them all once."""
    done = {v1.JobState.SUCCEEDED, v1.JobState.FAILED}
    deadline = time.monotonic() + wait
    left = list(ids)
    while left and time.monotonic() < deadline:
        if (await client.jobs.get_job(v1.GetJobRequest(id=left[0]))).state in done:
            left.pop(0)
        else:
            await asyncio.sleep(0.02)
    wanted, found = set(ids), dict[str, v1.Job]()
    token = ""
    while True:
        page = await client.jobs.list_jobs(
            v1.ListJobsRequest(states=list(done), limit=1000, page_token=token)
        )
        found.update((j.id, j) for j in page.jobs if j.id in wanted)
        token = page.next_page_token
        if not token or len(found) == len(wanted):
            return found


async def start_latency(client: Client, count: int, wait: float) -> str:
    ids = []
    for i in range(count):
        spec = v1.JobSpec(name=f"probe-{i}", command=["true"])
        job = (await client.jobs.submit_job(v1.SubmitJobRequest(spec=spec))).job
        assert job is not None
        ids.append(job.id)
        await asyncio.sleep(0.02)
    jobs = await finished(client, ids, wait)
    waits = [
        (j.started_at - j.created_at).total_seconds() * 1000
        for j in jobs.values()
        if j.started_at and j.created_at
    ]
    if len(waits) < count:
        return f"{count - len(waits)} of {count} jobs had not run after {wait:g} s"
    return f"p50 {percentile(waits, 50):.1f} ms, p99 {percentile(waits, 99):.1f} ms, max {max(waits):.1f} ms"


async def dispatch_rate(client: Client, n: int, wait: float) -> str:
    specs = [v1.JobSpec(name=f"rate-{i}", command=["true"]) for i in range(n)]
    ids = await submit([client], specs)
    jobs = await finished(client, ids, wait)
    if len(jobs) < n:
        return f"{n - len(jobs)} of {n} jobs had not finished after {wait:g} s"
    first = min(j.created_at for j in jobs.values() if j.created_at)
    last = max(j.finished_at for j in jobs.values() if j.finished_at)
    span = (last - first).total_seconds()
    return f"{n / span:,.0f} jobs/s ({n} jobs in {span:.2f} s)"


async def measure(client: Client, pid: int, args: argparse.Namespace, label: str) -> None:
    idle = await cpu_percent(pid, args.idle)
    print(f"[{label}] daemon CPU idle   {idle:.1f} % of a core over {args.idle:g} s", flush=True)
    for _ in range(args.rounds):
        latency = await start_latency(client, args.probes, args.wait)
        print(f"[{label}] start latency     {latency}", flush=True)
        rate = await dispatch_rate(client, args.n, args.wait)
        print(f"[{label}] dispatch rate     {rate}", flush=True)


async def bench(addr: str, pid: int, admin: str, tokens: list[str], args: argparse.Namespace) -> None:
    async with Client(addr, admin) as client:
        async with asyncio.timeout(60):
            while not (await client.workers.list_workers(v1.ListWorkersRequest())).workers:
                await asyncio.sleep(0.1)
        await measure(client, pid, args, "no backlog")
        clients = [Client(addr, t) for t in tokens]
        try:
            spec = v1.JobSpec(name="backlog", command=["true"], selector=["bench-absent=yes"], priority=5)
            started = time.monotonic()
            await submit(clients, [spec] * args.backlog)
            took = time.monotonic() - started
            print(f"backlog             {args.backlog:,} jobs no worker can take, submitted in {took:.1f} s "
                  f"({args.backlog / took:,.0f} jobs/s)", flush=True)  # fmt: skip
        finally:
            for c in clients:
                c.close()
        await asyncio.sleep(2.0)  # the submissions' wake-ups are over
        await measure(client, pid, args, f"backlog {args.backlog:,}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backlog", type=int, default=100_000, help="jobs no worker can take (K)")
    parser.add_argument("--n", type=int, default=2000, help="jobs of the dispatch-rate run")
    parser.add_argument("--probes", type=int, default=100, help="jobs of the start-latency run")
    parser.add_argument("--slots", type=int, default=8, help="slots of the one worker")
    parser.add_argument("--rounds", type=int, default=1, help="latency and rate runs in each phase")
    parser.add_argument("--idle", type=float, default=10.0, help="seconds the idle CPU is measured over")
    parser.add_argument("--wait", type=float, default=120.0, help="how long jobs may take to start and end")
    parser.add_argument("--database-url", help="use this PostgreSQL instead of an embedded one")
    args = parser.parse_args()
    with System(args.database_url) as system:
        daemon = system.start_daemon()
        count = max(1, -(-args.backlog // PER_TOKEN))
        tokens = [system.create_token("admin", f"backlog-{i}") for i in range(count)]
        # Its line per job started and ended would bury the figures.
        system.start_worker(daemon, slots=args.slots, quiet=True)
        print(f"hodeid pid {daemon.pid}, one worker with {args.slots} slots, {os.cpu_count()} CPUs (shared?)")
        asyncio.run(bench(daemon.addr, daemon.pid, system.admin_token(), tokens, args))


if __name__ == "__main__":
    main()
