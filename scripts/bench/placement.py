"""Placement decision time: place() over N workers carrying labels drawn from K keys, for a
job with a selector, printing p50 and p99 (target: p50 <= 1 ms at 1,000 workers, 100 labels).

    python scripts/bench/placement.py [--workers 1000] [--labels 100] [--runs 2000]
"""

from __future__ import annotations

import argparse
import random
import time

from hodeid.domain import selectors
from hodeid.domain.placement import JobNeeds, Policy, Strategy, WorkerState, place


def fleet(count: int, keys: int, rng: random.Random) -> list[WorkerState]:
    names = [f"k{i}" for i in range(keys)]
    return [
        WorkerState(
            id=f"worker-{i:04d}",
            slots_total=8,
            slots_used=rng.randint(0, 8),
            cpu_total=16.0,
            cpu_used=rng.uniform(0, 16),
            memory_total=65536,
            memory_used=rng.randint(0, 65536),
            labels={k: rng.choice(["a", "b", "c"]) for k in rng.sample(names, min(10, keys))},
            heartbeat_age=rng.uniform(0, 5),
        )
        for i in range(count)
    ]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workers", type=int, default=1000)
    parser.add_argument("--labels", type=int, default=100)
    parser.add_argument("--runs", type=int, default=2000)
    args = parser.parse_args()
    rng = random.Random(42)
    workers = fleet(args.workers, args.labels, rng)
    jobs = [
        JobNeeds("job", selectors.parse(["k1=a"]), 1.0, 1024),
        JobNeeds("job", selectors.parse(["k1 in (a,b)", "!k2"]), 2.0, 4096),
        JobNeeds("job", (), 0.5, 512),
    ]
    print(f"{args.workers} workers, {args.labels} label keys, {args.runs} decisions per row")
    print(f"{'strategy':<16} {'selector':<24} {'p50 ms':>8} {'p99 ms':>8} {'outcome':>12}")
    for strategy in Strategy:
        policy = Policy(strategy)
        for job in jobs:
            times = []
            for _ in range(args.runs // len(jobs)):
                started = time.perf_counter()
                decision = place(job, workers, [], policy)
                times.append((time.perf_counter() - started) * 1000)
            shown = ", ".join(str(t) for t in job.selector) or "(none)"
            print(
                f"{strategy.value:<16} {shown:<24} {percentile(times, 50):>8.3f} "
                f"{percentile(times, 99):>8.3f} {decision.outcome.name:>12}"
            )


if __name__ == "__main__":
    main()
