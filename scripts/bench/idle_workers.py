"""What idle workers cost the daemon (issue 12, target 4: 1,000 connected idle workers cost
hodeid at most 10% of a core and 300 MB RSS). It starts hodeid, then opens N worker streams from
this one process: each is hodei-worker's own ``Agent`` (Hello with the cluster join token and a
credential of its own, kept in a state directory as hodei-worker keeps it, Welcome, heartbeats
both ways at the interval the daemon sets) on a gRPC connection of its own. Once the daemon lists
all N as connected it waits a heartbeat period, then prints hodeid's CPU over --seconds (from
/proc/PID/stat), its RSS now and at its peak (VmRSS, VmHWM), and this process's CPU over the same
time: a simulator near a full core is late with its heartbeats, and its figures are then too low.

    python scripts/bench/idle_workers.py                  # N = 1000 over 30 s, embedded PostgreSQL
    python scripts/bench/idle_workers.py --workers 1000 --seconds 30 --database-url postgresql://postgres@127.0.0.1/postgres

Workers connect --wave at a time, each wave welcomed before the next starts. The machine's load
average is printed beside the figures: CPU time is the process's own, but a busy machine delays
its wake-ups.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from figures import cpu_seconds, memory_mib
from system import System

from hodei_api import v1
from hodei_api.client import Client
from hodei_api.paths import JOIN_TOKEN_FILE
from hodei_worker.agent import Agent
from hodei_worker.config import WorkerSettings
from hodei_worker.state import StateDir

CONNECT_SECONDS = 120.0
SELF = os.getpid()
# Past this share of a core the simulator is late with its heartbeats.
STARVED = 0.8


def agents(addr: str, join_token: str, state_dir: Path, count: int) -> list[Agent]:
    """``count`` hodei-worker agents, one slot each, ids ``idle-0000``..., their credentials
    kept in ``state_dir`` (one file per id) before they first connect."""
    state = StateDir(state_dir)
    made = []
    for i in range(count):
        settings = WorkerSettings(
            server=addr, worker_id=f"idle-{i:04d}", join_token=join_token, state_dir=state_dir,
            slots=1, cpu=1.0, memory_mb=1024,
        )  # fmt: skip
        made.append(Agent(settings, state=state, credential=state.credential(settings.worker_id)))
    return made


def welcomed(agent: Agent) -> bool:
    return agent.session is not None and agent.session.welcomed_at is not None


async def until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    """Wait until ``check()`` says so, or fail saying ``what`` did not happen."""
    deadline = time.monotonic() + CONNECT_SECONDS
    while not await check():
        if time.monotonic() > deadline:
            raise SystemExit(f"{what} within {CONNECT_SECONDS:g} s")
        await asyncio.sleep(0.1)


async def listed(client: Client) -> list[v1.WorkerInfo]:
    """The workers whose live stream this daemon holds."""
    found = (await client.workers.list_workers(v1.ListWorkersRequest())).workers
    return [w for w in found if w.live and not w.from_record]


async def connect(client: Client, fleet: list[Agent], wave: int) -> list[asyncio.Task[None]]:
    """Run the agents, ``wave`` at a time, until the daemon lists them all; their tasks."""
    tasks: list[asyncio.Task[None]] = []
    for first in range(0, len(fleet), wave):
        group = fleet[first : first + wave]
        tasks += [asyncio.create_task(a.run(), name=f"worker {a.settings.worker_id}") for a in group]

        async def group_welcomed(group: list[Agent] = group) -> bool:
            return all(welcomed(a) for a in group)

        await until(group_welcomed, f"workers {first}.. were not welcomed")

    async def all_listed() -> bool:
        return len(await listed(client)) == len(fleet)

    await until(all_listed, f"hodeid did not list {len(fleet)} workers")
    return tasks


async def bench(addr: str, pid: int, admin: str, fleet: list[Agent], args: argparse.Namespace) -> None:
    tasks: list[asyncio.Task[None]] = []
    async with Client(addr, admin) as client:
        try:
            started = time.monotonic()
            tasks = await connect(client, fleet, args.wave)
            took = time.monotonic() - started
            print(
                f"workers connected   {len(fleet)} streams from pid {SELF}, listed in {took:.1f} s",
                flush=True,
            )
            interval = next(a.session.interval for a in fleet if a.session is not None)
            await asyncio.sleep(interval)  # the connects' after-effects are over
            load = os.getloadavg()
            cpu, own = cpu_seconds(pid), cpu_seconds(SELF)
            begun = time.monotonic()
            await asyncio.sleep(args.seconds)
            wall = time.monotonic() - begun
            cpu, own = cpu_seconds(pid) - cpu, cpu_seconds(SELF) - own
            memory = memory_mib(pid)
            after = await listed(client)
            periods = wall / interval
            print(f"heartbeats          every {interval:g} s both ways, {periods:.1f} periods measured")
            print(f"hodeid CPU          {100 * cpu / wall:.1f} % of a core over {wall:.1f} s ({cpu:.2f} s)")
            print(f"hodeid RSS          {memory['VmRSS']:.0f} MiB now, {memory['VmHWM']:.0f} MiB peak")
            print(f"simulator CPU       {100 * own / wall:.1f} % of a core (this process)")
            reconnects = sum(w.reconnects for w in after)
            print(f"still connected     {len(after)} of {len(fleet)}, {reconnects} reconnects")
            now = os.getloadavg()
            print(
                f"load average        {load[0]:.2f} before, {now[0]:.2f} after ({os.cpu_count()} CPUs)",
                flush=True,
            )
            if own / wall > STARVED:
                print("warning: the simulator was near a full core; hodeid's figures may be low")
        finally:
            for agent in fleet:
                agent.stop()
            await asyncio.gather(*tasks, return_exceptions=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workers", type=int, default=1000, help="worker streams (N)")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long hodeid's CPU is measured")
    parser.add_argument("--wave", type=int, default=100, help="workers connecting at once")
    parser.add_argument("--database-url", help="make the run's database on this PostgreSQL server")
    args = parser.parse_args()
    # Each agent logs its connect and disconnect: a thousand lines would bury the figures.
    logging.basicConfig(level=logging.WARNING)
    # The daemon's line per worker disconnected goes to the system's log, shown if the run fails.
    with System(args.database_url, log=True) as system:
        daemon = system.start_daemon()
        join_token = (system.data_dir / JOIN_TOKEN_FILE).read_text().strip()
        fleet = agents(daemon.addr, join_token, system.data_dir / "workers", args.workers)
        print(f"hodeid pid {daemon.pid}, {os.cpu_count()} CPUs (shared?)", flush=True)
        asyncio.run(bench(daemon.addr, daemon.pid, system.admin_token(), fleet, args))


if __name__ == "__main__":
    main()
