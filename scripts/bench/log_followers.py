"""What log followers cost the daemon and the other clients: a job writes a big log (~100 MB
by default, in 64 KiB lines) and keeps writing while 16 stalled followers (each reads one
message, then stops reading) and 16 reading followers stream it with a read token, each on its
own connection. Meanwhile another client calls ListJobs; the script prints the daemon's RSS
(before, peak, after the followers are gone) and the p50/p99 of ListJobs.

    python scripts/bench/log_followers.py --database-url postgresql://postgres@127.0.0.1/bench
    python scripts/bench/log_followers.py --addr 127.0.0.1:50051 --pid PID_OF_HODEID

Without ``--addr`` it starts hodeid (on the given database, else an embedded one) and one
hodei-worker on 127.0.0.1, and ends them by PID; with ``--addr`` the daemon is yours, and
``HODEI_TOKEN`` / ``HODEI_TOKEN_FILE`` must give an admin token (it submits the job).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import shutil
import sys
import tempfile
import time
from multiprocessing.synchronize import Event
from pathlib import Path

from figures import memory_mib, percentile
from system import System

from hodei_api import v1
from hodei_api.client import Client, resolve_addr, resolve_token
from hodei_api.loglines import seq_numbers

MIB = 2**20
# The job: ``bulk`` lines of ``size`` bytes at once, then one a tenth of a second until a
# file appears (or ten minutes pass), then it exits 0.
JOB = """
import os, sys, time
bulk, size, stop = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
line = "x" * (size - 1) + "\\n"
for _ in range(bulk):
    sys.stdout.write(line)
sys.stdout.flush()
deadline = time.monotonic() + 600
while not os.path.exists(stop) and time.monotonic() < deadline:
    sys.stdout.write(line)
    sys.stdout.flush()
    time.sleep(0.1)
"""


def reset_peak(pid: int) -> None:
    """Reset VmHWM of ``pid`` to its RSS now (Linux 4.0 and later): it then shows the peak since."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


async def stalled(addr: str, token: str | None, job_id: str, stop: Event) -> None:
    """Open the stream, take one message, then read no more until ``stop``."""
    async with Client(addr, token) as client:
        async for _ in client.logs.stream_logs(v1.StreamLogsRequest(job_id=job_id, follow=True)):
            # Not taking the next message leaves the connection's window full: the daemon
            # cannot send, as with a client that stopped reading.
            while not stop.is_set():
                await asyncio.sleep(0.1)
            return


async def reading(addr: str, token: str | None, job_id: str, stop: Event, got: list[int]) -> None:
    """Follow the log to its end (or ``stop``), counting lines."""
    async with Client(addr, token) as client:
        request = v1.StreamLogsRequest(job_id=job_id, follow=True)
        async for chunk in client.logs.stream_logs(request):
            if chunk.lines is not None:
                got.append(len(seq_numbers(chunk.lines)))
            if stop.is_set():
                return


async def followers(addr: str, token: str | None, job_id: str, counts: tuple[int, int], stop: Event) -> None:
    got: list[int] = []
    tasks = [asyncio.create_task(stalled(addr, token, job_id, stop)) for _ in range(counts[0])]
    tasks += [asyncio.create_task(reading(addr, token, job_id, stop, got)) for _ in range(counts[1])]
    while not stop.is_set():
        await asyncio.sleep(0.1)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    print(f"followers       {counts[0]} stalled, {counts[1]} reading: {sum(got):,} lines read in all")


def followers_process(
    addr: str, token: str | None, job_id: str, counts: tuple[int, int], stop: Event
) -> None:
    """The followers in a process of their own: decoding their lines does not slow the prober."""
    asyncio.run(followers(addr, token, job_id, counts, stop))


async def stored(client: Client, job_id: str, seq: int, limit: float) -> None:
    """Wait until line ``seq`` of the job is stored."""
    deadline = time.monotonic() + limit
    request = v1.StreamLogsRequest(job_id=job_id, after_seq=seq - 1)
    while True:
        async for chunk in client.logs.stream_logs(request):
            if chunk.lines is not None and seq_numbers(chunk.lines):
                return
        if time.monotonic() > deadline:
            sys.exit(f"line {seq} of job {job_id} was not stored within {limit:.0f} s")
        await asyncio.sleep(0.5)


async def list_jobs(client: Client, latencies: list[float]) -> None:
    """One ListJobs call, its milliseconds added to ``latencies``."""
    started = time.perf_counter()
    await client.jobs.list_jobs(v1.ListJobsRequest(limit=20))
    latencies.append((time.perf_counter() - started) * 1000)


async def one_round(args: argparse.Namespace, client: Client, read_token: str | None, pid: int) -> None:
    """Write the log, follow it for ``args.seconds`` while timing ListJobs, and print the figures."""
    bulk = args.mib * MIB // args.line_bytes
    stop_file = Path(tempfile.mkdtemp(prefix="hodei-bench-")) / "stop"
    command = [sys.executable, "-c", JOB, str(bulk), str(args.line_bytes), str(stop_file)]
    spec = v1.JobSpec(name="big-log", command=command)
    job = (await client.jobs.submit_job(v1.SubmitJobRequest(spec=spec))).job
    assert job is not None
    started = time.monotonic()
    await stored(client, job.id, bulk, args.timeout)
    took = time.monotonic() - started
    print(f"log             {bulk:,} lines of {args.line_bytes:,} bytes stored in {took:.1f} s")
    before = memory_mib(pid)
    reset_peak(pid)
    stop: Event = multiprocessing.Event()
    counts = (args.stalled, args.readers)
    # Daemonic: a run stopped before ``stop`` is set ends it instead of waiting for it at exit.
    proc = multiprocessing.Process(
        target=followers_process, args=(client.addr, read_token, job.id, counts, stop), daemon=True
    )
    proc.start()
    latencies: list[float] = []
    peak = before["VmRSS"]
    deadline = time.monotonic() + args.seconds
    # A call every 50 ms whether the last one returned or not: a stalled daemon shows as many
    # slow calls, not as one.
    calls = []
    while time.monotonic() < deadline:
        calls.append(asyncio.create_task(list_jobs(client, latencies)))
        peak = max(peak, memory_mib(pid)["VmRSS"])
        await asyncio.sleep(0.05)
    await asyncio.gather(*calls)
    stop.set()
    proc.join(60)
    stop_file.touch()
    # Settled: the RSS the daemon keeps once the followers are gone (sampled for a while).
    after = []
    for _ in range(20):
        await asyncio.sleep(0.25)
        after.append(memory_mib(pid)["VmRSS"])
    end = memory_mib(pid)
    shutil.rmtree(stop_file.parent, ignore_errors=True)
    print(f"window          {args.seconds:.0f} s, {len(latencies)} ListJobs calls")
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    print(f"ListJobs        p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {max(latencies):.1f} ms")
    print(f"daemon RSS      before followers {before['VmRSS']:.0f} MiB, peak during {peak:.0f} MiB")
    print(f"daemon RSS      after the followers ended {after[-1]:.0f} MiB (min over 5 s {min(after):.0f})")
    print(f"daemon VmHWM    {end['VmHWM']:.0f} MiB (peak RSS from the followers' start on)")


async def bench(
    args: argparse.Namespace, addr: str, admin: str | None, read_token: str | None, pid: int
) -> None:
    async with Client(addr, admin) as client:
        for n in range(args.rounds):
            print(f"round {n + 1} of {args.rounds}")
            await one_round(args, client, read_token, pid)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--addr", help="a running daemon (then --pid is needed)")
    parser.add_argument("--pid", type=int, help="the PID of the daemon at --addr, for its RSS")
    parser.add_argument("--database-url", help="without --addr: PostgreSQL for the daemon (else embedded)")
    parser.add_argument("--mib", type=int, default=100, help="size of the log written before following")
    parser.add_argument("--line-bytes", type=int, default=64 * 1024)
    parser.add_argument("--stalled", type=int, default=16)
    parser.add_argument("--readers", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=30, help="how long the followers run")
    parser.add_argument("--rounds", type=int, default=1, help="times over, each with a new job")
    parser.add_argument("--timeout", type=float, default=300, help="longest wait for the log to be stored")
    args = parser.parse_args()
    if args.addr:
        if args.pid is None:
            parser.error("--addr needs --pid (the daemon's, to read its RSS)")
        token = resolve_token()
        asyncio.run(bench(args, resolve_addr(args.addr), token, token, args.pid))
        return
    with System(args.database_url) as system:
        daemon = system.start_daemon()
        system.start_worker(daemon, slots=1, python_jobs=True)
        read_token = system.create_token("read", f"bench-{daemon.port}")
        asyncio.run(bench(args, daemon.addr, system.admin_token(), read_token, daemon.pid))


if __name__ == "__main__":
    main()
