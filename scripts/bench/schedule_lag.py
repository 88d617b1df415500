"""How late schedules fire: start hodeid (no worker: the runs' jobs stay PENDING, which is
what this measures up to), create S schedules firing every second (--overlap allow), wait for
N runs of each, and print the p50/p99 of the firing lag, the time from a run's planned time to
its job's creation, both by the database's clock.

    python scripts/bench/schedule_lag.py --runs 30 --schedules 10 [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import time

from figures import percentile
from system import System

from hodei_api import v1
from hodei_api.client import Client


async def bench(addr: str, token: str, runs: int, schedules: int) -> None:
    async with Client(addr, token) as client:
        names = [f"lag-{n}" for n in range(schedules)]
        for name in names:
            spec = v1.ScheduleSpec(
                name=name,
                every_seconds=1.0,
                overlap=v1.OverlapPolicy.ALLOW,
                job=v1.JobSpec(command=["true"]),
            )
            await client.schedules.create_schedule(v1.CreateScheduleRequest(spec=spec))
        deadline = time.monotonic() + runs + 30
        while True:
            jobs = (await client.jobs.list_jobs(v1.ListJobsRequest(limit=1000))).jobs
            fired = [j for j in jobs if j.schedule in names]
            if len(fired) >= runs * schedules or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
        for name in names:
            await client.schedules.delete_schedule(v1.DeleteScheduleRequest(name=name))
    lags = [
        (j.created_at - j.planned_at).total_seconds() * 1000
        for j in fired
        if j.created_at is not None and j.planned_at is not None
    ]
    print(f"runs            {len(lags)} ({schedules} schedules every 1 s, {runs} runs each)")
    print(f"firing lag p50  {percentile(lags, 50):.1f} ms")
    print(f"firing lag p99  {percentile(lags, 99):.1f} ms")
    print(f"firing lag max  {max(lags):.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=30, help="runs of each schedule to wait for")
    parser.add_argument("--schedules", type=int, default=10, help="schedules firing at once")
    parser.add_argument("--database-url", help="use this PostgreSQL instead of an embedded one")
    args = parser.parse_args()
    with System(args.database_url) as system:
        daemon = system.start_daemon()
        asyncio.run(bench(daemon.addr, system.admin_token(), args.runs, args.schedules))


if __name__ == "__main__":
    main()
