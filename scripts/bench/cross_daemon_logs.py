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
import sys
import time

from figures import percentile
from system import System

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
    with System(args.database_url) as system:
        daemons = [system.start_daemon(), system.start_daemon()]
        system.start_worker(daemons[0], slots=1, python_jobs=True)
        asyncio.run(bench(args, [d.addr for d in daemons], system.admin_token()))


if __name__ == "__main__":
    main()
