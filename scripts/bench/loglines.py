"""Cost per log line of each step a batch of lines takes between processes: pack (worker, or
daemon for followers), encode, decode, unpack (daemon, or CLI), after (daemon's seam filter).

    python scripts/bench/loglines.py [--lines 1000] [--total 200000]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from hodei_api import v1
from hodei_api.loglines import Line, after, pack, unpack


def per_line(step: Callable[[], object], lines: int, total: int) -> float:
    """Microseconds per line of ``step`` over batches of ``lines``, best of 5."""
    runs = max(1, total // lines)
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(runs):
            step()
        best = min(best, time.perf_counter() - started)
    return best / runs / lines * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lines", type=int, default=1000, help="lines per batch")
    parser.add_argument("--total", type=int, default=200_000, help="lines per measurement")
    args = parser.parse_args()
    now = time.time_ns() // 1000
    lines = [Line(seq, v1.LogStream.STDOUT, b"%d\n" % seq, now, 1) for seq in range(1, args.lines + 1)]
    packed = pack(lines)
    message = v1.WorkerMessage(log_batch=v1.LogBatch(job_id="0" * 36, attempt=1, lines=packed))
    wire = bytes(message)
    steps: dict[str, Callable[[], object]] = {
        "pack": lambda: pack(lines),
        "encode": lambda: bytes(message),
        "decode": lambda: v1.WorkerMessage.parse(wire),
        "unpack": lambda: unpack(packed),
        "after": lambda: after(packed, 0),
    }
    for name, step in steps.items():
        print(f"{name:8} {per_line(step, args.lines, args.total):6.3f} us/line")


if __name__ == "__main__":
    main()
