"""Log throughput end to end, through the real programs: ``hodei job run -- seq 1 1000000``
``--runs`` times (each run's stdout must equal ``seq 1 1000000`` byte for byte), printing
each wall time and the median; then ten ``hodei job logs -f`` followers of one such job
against one follower (each follower's bytes checked too), printing both walls and their ratio;
then one and ten followers of that job once it has ended (its history alone);
and the daemon's peak RSS.

    python scripts/bench/log_throughput.py --database-url postgresql://postgres@127.0.0.1/postgres
    python scripts/bench/log_throughput.py --runs 5 --lines 1000000 --followers 10

It starts hodeid (on the given database, else an embedded one) and one hodei-worker on
127.0.0.1, and ends them by PID. A follower's wall runs from just after the job was
submitted until the last follower has written the job's last line and exited.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from figures import memory_mib
from system import System


def hodei(env: dict[str, str], *args: str) -> list[str]:
    return [str(Path(sys.executable).parent / "hodei"), *args]


def run_once(env: dict[str, str], lines: int, expected: bytes) -> float:
    """One ``hodei job run -- seq 1 LINES``: its wall time in seconds, its bytes checked."""
    started = time.perf_counter()
    command = hodei(env, "job", "run", "--", "seq", "1", str(lines))
    done = subprocess.run(command, env=env, capture_output=True)
    took = time.perf_counter() - started
    if done.returncode != 0 or done.stdout != expected:
        sys.exit(
            f"job run exited {done.returncode} with {len(done.stdout):,} bytes of stdout"
            f" ({'not ' if done.stdout != expected else ''}equal to seq's {len(expected):,});"
            f" stderr: {done.stderr[-500:]!r}"
        )
    return took


def follow(env: dict[str, str], lines: int, count: int, expected: bytes, workdir: Path) -> float:
    """Submit ``seq 1 LINES`` and follow it with ``count`` ``hodei job logs -f``; the wall time
    from the submission until every follower is done, each one's bytes checked."""
    submitted = subprocess.run(
        hodei(env, "job", "run", "--detach", "--", "seq", "1", str(lines)),
        env=env, capture_output=True, check=True,
    )  # fmt: skip
    return follow_job(env, submitted.stdout.decode().strip(), count, expected, workdir)


def follow_job(env: dict[str, str], job_id: str, count: int, expected: bytes, workdir: Path) -> float:
    """Follow ``job_id`` with ``count`` ``hodei job logs -f``: the wall time until every
    follower is done, each one's bytes checked."""
    started = time.perf_counter()
    outputs = [workdir / f"follower-{n}.out" for n in range(count)]
    procs = []
    for path in outputs:
        with path.open("wb") as sink:
            procs.append(subprocess.Popen(hodei(env, "job", "logs", "-f", job_id), env=env, stdout=sink))
    for proc in procs:
        if proc.wait(600) != 0:
            sys.exit(f"hodei job logs -f {job_id} exited {proc.returncode}")
    took = time.perf_counter() - started
    for path in outputs:
        if (got := path.read_bytes()) != expected:
            sys.exit(f"follower wrote {len(got):,} bytes, not seq's {len(expected):,} (job {job_id})")
        path.unlink()
    return took


def job_of_last_run(env: dict[str, str]) -> str:
    """The id of the job submitted last."""
    listed = subprocess.run(
        hodei(env, "job", "list", "--limit", "1", "-o", "json"), env=env, capture_output=True, check=True
    )
    return str(json.loads(listed.stdout)[0]["id"])


def bench(args: argparse.Namespace, env: dict[str, str], daemon_pid: int, workdir: Path) -> None:
    expected = subprocess.run(["seq", "1", str(args.lines)], capture_output=True, check=True).stdout
    # One run first so the worker is connected and everything is imported and warm.
    run_once(env, 1000, subprocess.run(["seq", "1", "1000"], capture_output=True, check=True).stdout)
    walls = []
    for n in range(args.runs):
        walls.append(run_once(env, args.lines, expected))
        print(f"job run         run {n + 1}: {walls[-1]:.2f} s", flush=True)
    print(
        f"job run         seq 1 {args.lines}: median {statistics.median(walls):.2f} s"
        f" (min {min(walls):.2f}, max {max(walls):.2f}, {args.runs} runs, bytes identical)"
    )
    one = [follow(env, args.lines, 1, expected, workdir) for _ in range(args.follow_runs)]
    many = [follow(env, args.lines, args.followers, expected, workdir) for _ in range(args.follow_runs)]
    one_wall, many_wall = statistics.median(one), statistics.median(many)
    print(f"logs -f         1 follower: median {one_wall:.2f} s ({', '.join(f'{w:.2f}' for w in one)})")
    print(
        f"logs -f         {args.followers} followers: median {many_wall:.2f} s"
        f" ({', '.join(f'{w:.2f}' for w in many)}); ratio {many_wall / one_wall:.2f}"
    )
    # The history alone of the last job followed, now ended (pages still kept are read from memory).
    done = follow_job(env, job_of_last_run(env), 1, expected, workdir)
    done_many = follow_job(env, job_of_last_run(env), args.followers, expected, workdir)
    print(
        f"logs -f done    1 follower {done:.2f} s, {args.followers} followers {done_many:.2f} s"
        f" (the job had ended); ratio {done_many / done:.2f}"
    )
    print(f"daemon          peak RSS {memory_mib(daemon_pid)['VmHWM']:.0f} MiB (VmHWM, whole run)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", help="PostgreSQL for the daemon (else embedded)")
    parser.add_argument("--lines", type=int, default=1_000_000, help="seq 1 LINES")
    parser.add_argument("--runs", type=int, default=5, help="times hodei job run is timed")
    parser.add_argument("--followers", type=int, default=10)
    parser.add_argument("--follow-runs", type=int, default=3, help="jobs followed, for each count")
    args = parser.parse_args()
    with System(args.database_url) as system:
        daemon = system.start_daemon()
        system.start_worker(daemon, slots=1)
        bench(args, system.client_env(daemon), daemon.pid, system.data_dir)


if __name__ == "__main__":
    main()
