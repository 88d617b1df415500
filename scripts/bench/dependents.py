"""The cost of settling one job that N waiting jobs depend on (issue 15, item 1): on a real
PostgreSQL (an embedded one, unless --database-url), a job A and N jobs submitted --after A
(or --after-any A) through the daemon's own submit path; then A's attempt is settled as the
daemon settles it, and the script prints how long that one transaction took, which frees (or
cancels) all N in the same transaction, against settling a job nobody waits on. It also prints
what a claim costs with the N jobs waiting, against an empty queue: waiting jobs are outside the
claim's index, so no scheduling pass looks at them.

    python scripts/bench/dependents.py                   # N = 10,000, embedded PostgreSQL
    python scripts/bench/dependents.py --n 1000 --database-url postgresql://postgres@127.0.0.1/postgres

With --database-url it works in a database of its own, made and dropped on that server.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import defaultdict
from datetime import UTC, datetime

import asyncpg
from figures import percentile
from system import System

from hodei_api import v1
from hodeid.config import SchedulerSettings
from hodeid.control.daemon import Daemon
from hodeid.control.settle import decide
from hodeid.domain.states import ACTIVE
from hodeid.store import db
from hodeid.store.embedded_server import EmbeddedServer
from hodeid.store.jobs import AttemptEnd, PendingJob

IN_FLIGHT = 16
STREAMS: defaultdict[str, str] = defaultdict(lambda: "bench")


async def submit_many(daemon: Daemon, specs: list[v1.JobSpec]) -> None:
    sem = asyncio.Semaphore(IN_FLIGHT)

    async def one(spec: v1.JobSpec) -> None:
        async with sem:
            await daemon.submit(spec)

    await asyncio.gather(*(one(s) for s in specs))


async def start(daemon: Daemon, name: str) -> str:
    """A job claimed and dispatched: the one whose settlement is timed."""
    job, _ = await daemon.submit(v1.JobSpec(name=name, command=["true"], priority=1000))

    def placer(pending: list[PendingJob]) -> list[tuple[str, str]]:
        return [(p.id, "bench-worker") for p in pending if p.id == job.id]

    [assigned] = await daemon.jobs.claim(16, placer, STREAMS, daemon.id)
    await daemon.jobs.mark_running([(job.id, assigned.job.attempt, datetime.now(UTC))])
    return job.id


async def settle_ms(daemon: Daemon, job_id: str, outcome: v1.AttemptOutcome) -> float:
    end = AttemptEnd(job_id, 1, outcome, exit_code=0 if outcome is v1.AttemptOutcome.SUCCEEDED else 1,
                     finished_at=datetime.now(UTC))  # fmt: skip
    started = time.perf_counter()
    [settled] = await daemon.jobs.settle([end], sorted(ACTIVE), decide)
    took = (time.perf_counter() - started) * 1000
    assert settled.job_id == job_id
    return took


async def claim_ms(daemon: Daemon, runs: int) -> list[float]:
    """A claim that looks at the queue and takes nothing, as a pass with no free slot for it."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        await daemon.jobs.claim(64, lambda pending: [], STREAMS, daemon.id)
        times.append((time.perf_counter() - started) * 1000)
    return times


async def case(daemon: Daemon, pool: asyncpg.Pool, n: int, flag: str, outcome: v1.AttemptOutcome) -> None:
    lone = await start(daemon, "lone")
    baseline = await settle_ms(daemon, lone, outcome)
    a = await start(daemon, "a")
    kind = "after" if flag == "--after" else "after_any"
    began = time.monotonic()
    await submit_many(daemon, [v1.JobSpec(name=f"d{i}", command=["true"], **{kind: [a]}) for i in range(n)])  # type: ignore[arg-type]
    submitted = time.monotonic() - began
    claims = await claim_ms(daemon, 20)
    took = await settle_ms(daemon, a, outcome)
    counts, _ = await daemon.jobs.count_by_state()
    label = f"{n:,} jobs {flag} A, A {outcome.name}"
    print(f"[{label}] submitted in {submitted:.1f} s ({n / submitted:,.0f} jobs/s)", flush=True)
    print(f"[{label}] claim with them waiting: p50 {percentile(claims, 50):.2f} ms, p99 "
          f"{percentile(claims, 99):.2f} ms", flush=True)  # fmt: skip
    print(f"[{label}] settling A: {took:.1f} ms (a job nobody waits on: {baseline:.1f} ms); "
          f"jobs now {dict(sorted(counts.items()))}", flush=True)  # fmt: skip
    # The next case starts from an empty queue.
    await pool.execute("TRUNCATE jobs CASCADE")


async def bench(url: str, args: argparse.Namespace) -> None:
    pool = await db.connect(url, min_size=2, max_size=IN_FLIGHT + 2)
    try:
        await db.migrate(pool)
        await pool.execute("TRUNCATE jobs CASCADE")
        daemon = Daemon(pool, SchedulerSettings())
        empty = await claim_ms(daemon, 20)
        print(f"claim with an empty queue: p50 {percentile(empty, 50):.2f} ms", flush=True)
        await case(daemon, pool, args.n, "--after", v1.AttemptOutcome.SUCCEEDED)
        await case(daemon, pool, args.n, "--after", v1.AttemptOutcome.FAILED)
        await case(daemon, pool, args.n, "--after-any", v1.AttemptOutcome.FAILED)
    finally:
        await pool.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=10_000, help="jobs that depend on the one settled")
    parser.add_argument("--database-url", help="use this PostgreSQL instead of an embedded one")
    args = parser.parse_args()
    with System(args.database_url) as system:
        if system.database_url is not None:  # a scratch database of the run's own
            asyncio.run(bench(system.database_url, args))
            return
        # Stopped by the system on the way out, as a daemon's would be.
        server = EmbeddedServer(system.data_dir)
        server.prepare_data_dir()
        asyncio.run(bench(server.ensure_running(), args))


if __name__ == "__main__":
    main()
