"""SubmitJob alone: start hodeid with no worker, submit N `true` jobs from one client, K of
them in flight at once (K=1: each awaited before the next, as a script would), and print the
submits per second, the p50/p99 of one SubmitJob's wall time and the CPU time hodeid spent per
submit (from /proc; Linux only). The jobs stay PENDING, so this measures the submit path: token
check, limit, insert, response. The daemon's pending limit is raised above N for the run.

    python scripts/bench/submit.py --n 2000 [--inflight K] [--database-url URL]
    python scripts/bench/submit.py --n 100000 --inflight 64 --database-url URL
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

WARM_UP = 50  # connection, token verified, statements prepared


async def bench(addr: str, token: str, n: int, inflight: int, daemon: int) -> None:
    spec = v1.JobSpec(name="submit-bench", command=["true"])
    async with Client(addr, token) as client:
        for _ in range(WARM_UP):
            await client.jobs.submit_job(v1.SubmitJobRequest(spec=spec))
        times: list[float] = []
        left = n

        async def submitter() -> None:
            nonlocal left
            while left > 0:
                left -= 1
                begun = time.perf_counter()
                await client.jobs.submit_job(v1.SubmitJobRequest(spec=spec))
                times.append((time.perf_counter() - begun) * 1000)

        cpu, client_cpu = cpu_seconds(daemon), time.process_time()
        load = os.getloadavg()[0]
        started = time.perf_counter()
        await asyncio.gather(*(submitter() for _ in range(inflight)))
        wall = time.perf_counter() - started
        cpu = cpu_seconds(daemon) - cpu
        client_cpu = time.process_time() - client_cpu
    how = "one after another" if inflight == 1 else f"{inflight} in flight"
    print(f"submits         {n} {how} ({n / wall:,.0f}/s, {wall:.1f} s)")
    print(f"submit p50      {percentile(times, 50):.2f} ms")
    print(f"submit p99      {percentile(times, 99):.2f} ms")
    print(f"hodeid CPU      {cpu / n * 1000:.3f} ms/submit ({cpu:.1f} s, {cpu / wall:.0%} of a core)")
    print(f"client CPU      {client_cpu / n * 1000:.3f} ms/submit (this script, for comparison)")
    print(f"load average    {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end (1 min)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--inflight", type=int, default=1, help="SubmitJobs in flight at once")
    parser.add_argument("--database-url", help="use this PostgreSQL instead of an embedded one")
    args = parser.parse_args()
    if args.n < 1 or args.inflight < 1:
        parser.error("--n and --inflight must be at least 1")
    with System(args.database_url) as system:
        # Every job stays PENDING: the token's limit must hold all of them.
        system.env["HODEI_LIMITS__MAX_PENDING_PER_SUBMITTER"] = str(args.n + WARM_UP)
        daemon = system.start_daemon()
        asyncio.run(bench(daemon.addr, system.admin_token(), args.n, args.inflight, daemon.pid))


if __name__ == "__main__":
    main()
