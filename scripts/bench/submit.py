"""SubmitJob alone: start hodeid with no worker, submit N `true` jobs one after another from one
client (each awaited before the next, as a script would), and print the p50/p99 of one
SubmitJob's wall time and the CPU time hodeid spent per submit (from /proc; Linux only). The
jobs stay PENDING, so this measures the submit path: token check, limit, insert, response.

    python scripts/bench/submit.py --n 2000 [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import time

from figures import cpu_seconds, percentile
from system import System

from hodei_api import v1
from hodei_api.client import Client


async def bench(addr: str, token: str, n: int, daemon: int) -> None:
    spec = v1.JobSpec(name="submit-bench", command=["true"])
    async with Client(addr, token) as client:
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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--database-url", help="use this PostgreSQL instead of an embedded one")
    args = parser.parse_args()
    with System(args.database_url) as system:
        daemon = system.start_daemon()
        asyncio.run(bench(daemon.addr, system.admin_token(), args.n, daemon.pid))


if __name__ == "__main__":
    main()
