"""Worker failover: two hodeid on one PostgreSQL and one hodei-worker started with
``--server A,B``. Each run kills -9 the daemon the worker streams to and times how long until
the other daemon's ListWorkers shows it (polled every 20 ms), then starts the killed daemon
again on its port. Prints every run and the p50/p99; the target is attached elsewhere within 5 s.

    python scripts/bench/failover.py                  # N = 20, an embedded PostgreSQL of its own
    python scripts/bench/failover.py --n 20 --database-url postgresql://postgres@127.0.0.1/bench

Before each kill the worker has streamed to its daemon for ``--settle`` seconds (longer than
the 10 s after which the worker counts a stream healthy and starts its backoff over), as with a
daemon that dies now and then rather than one that crashes in a loop.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

from figures import percentile
from grpclib.exceptions import GRPCError, ProtocolError, StreamTerminatedError
from system import Daemon, System

from hodei_api import v1
from hodei_api.client import Client

WORKER_ID = "bench-failover"


async def attached(client: Client) -> bool:
    """Whether the worker streams to this daemon (False if it cannot be asked)."""
    try:
        listed = await asyncio.wait_for(client.workers.list_workers(v1.ListWorkersRequest()), 2)
    except (GRPCError, StreamTerminatedError, ProtocolError, OSError, TimeoutError):
        return False  # the daemon is starting, or just died: not attached there
    # The other daemons' workers are listed too, from the database's record: not attached here.
    return any(w.id == WORKER_ID and not w.from_record for w in listed.workers)


async def holder(clients: list[Client]) -> int:
    """The index of the daemon the worker streams to, once one lists it."""
    while True:
        for i, client in enumerate(clients):
            if await attached(client):
                return i
        await asyncio.sleep(0.05)


async def bench(daemons: list[Daemon], token: str, args: argparse.Namespace) -> list[float]:
    clients = [Client(d.addr, token) for d in daemons]
    times: list[float] = []
    try:
        for run in range(1, args.n + 1):
            async with asyncio.timeout(args.timeout):
                held = await holder(clients)
            await asyncio.sleep(args.settle)
            other = 1 - held
            killed_at = time.monotonic()
            daemons[held].kill()
            clients[held].close()
            async with asyncio.timeout(args.timeout):
                while not await attached(clients[other]):
                    await asyncio.sleep(0.02)
            took = time.monotonic() - killed_at
            times.append(took)
            print(f"run {run:3d}: killed {daemons[held].addr}, attached to {daemons[other].addr} "
                  f"after {took * 1000:.0f} ms", flush=True)  # fmt: skip
            daemons[held].start()
            clients[held] = Client(daemons[held].addr, token)
    finally:
        for client in clients:
            client.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=20, help="kills")
    parser.add_argument("--settle", type=float, default=11.0, help="seconds attached before each kill")
    parser.add_argument("--timeout", type=float, default=60.0, help="how long a failover may take")
    parser.add_argument("--database-url", help="use this PostgreSQL instead of an embedded one")
    args = parser.parse_args()
    with System(args.database_url) as system:
        daemons = [system.start_daemon(), system.start_daemon()]
        system.start_worker(*daemons, quiet=True, extra=("--id", WORKER_ID))
        print(f"two hodeid, one worker --server {daemons[0].addr},{daemons[1].addr}; "
              f"{args.n} kills, {os.cpu_count()} CPUs (shared?)", flush=True)  # fmt: skip
        times = asyncio.run(bench(daemons, system.admin_token(), args))
        print(f"attached to the other daemon after kill -9: p50 {percentile(times, 50) * 1000:.0f} ms, "
              f"p99 {percentile(times, 99) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms "
              f"over {len(times)} runs (target: within 5 s)")  # fmt: skip


if __name__ == "__main__":
    main()
