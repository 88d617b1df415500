"""Repeat each chaos scenario (tests/support/chaos.py, the ones tests/chaos runs once) N times
against real processes and print what was lost:

    python scripts/chaos/run.py --n 20 [--database-url URL] [--only 'stream cut < grace']... [--jobs 200]

Each run gets a fresh database on URL (default $HODEI_TEST_DATABASE_URL, else an embedded
PostgreSQL started for the purpose); the PostgreSQL-restart scenario always uses an embedded
server of its own, which it stops and starts. The scenarios under a flow of jobs submit
``--jobs`` of them in each run (tests/chaos: 30). The logs of a run that lost anything are kept
and their directory printed. Exits 1 if anything was lost.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from contextlib import ExitStack, closing
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root, for tests/

from tests.support.chaos import SCENARIOS, Stage, Tally
from tests.support.database import Databases, EmbeddedPostgres, embedded_server, with_database

COLUMNS = (
    "scenario", "runs", "jobs", "jobs lost", "duplicate lines", "missing lines",
    "lines out of order", "wrong terminal states", "processes left", "seconds",
)  # fmt: skip


def table(rows: list[tuple[str, Tally, float]]) -> str:
    cells = [COLUMNS] + [
        (name, str(t.runs), str(t.jobs), str(t.lost), str(t.duplicate_lines), str(t.missing_lines),
         str(t.disordered_lines), str(t.wrong_states), str(t.left_behind), f"{seconds:.0f}")
        for name, t, seconds in rows
    ]  # fmt: skip
    widths = [max(len(row[i]) for row in cells) for i in range(len(COLUMNS))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |" for row in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def server_url(given: str | None, stack: ExitStack) -> str:
    url = given or os.environ.get("HODEI_TEST_DATABASE_URL")
    if url:
        return with_database(url, "postgres")
    servers = embedded_server()
    stack.enter_context(closing(servers))
    return next(servers)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=20, help="runs of each scenario (default 20)")
    parser.add_argument("--database-url", help="a PostgreSQL server to create the runs' databases on")
    parser.add_argument("--only", action="append", choices=list(SCENARIOS), help="just this scenario")
    parser.add_argument(
        "--jobs", type=int, default=200, help="jobs of each run under a flow of jobs (default 200)"
    )
    args = parser.parse_args()
    rows: list[tuple[str, Tally, float]] = []
    with ExitStack() as stack:
        databases = Databases(server_url(args.database_url, stack))
        stack.callback(databases.close)
        made: list[str] = []

        @stack.callback
        def drop_all() -> None:
            for name in made:
                databases.drop(name)

        def new_database() -> str:
            made.append(databases.create())
            return databases.url(made[-1])

        pg: EmbeddedPostgres | None = None
        for name in args.only or list(SCENARIOS):
            if pg is None and name == "PostgreSQL restart":
                pg = EmbeddedPostgres()
                stack.callback(pg.close)
            total = Tally()
            started = time.monotonic()
            for i in range(args.n):
                log_dir = Path(tempfile.mkdtemp(prefix="hodei-chaos-"))
                tally = SCENARIOS[name](Stage(new_database, log_dir, pg, flow=args.jobs))
                total.add(tally)
                if tally.clean():
                    shutil.rmtree(log_dir, ignore_errors=True)
                else:
                    print(
                        f"{name} run {i + 1}: {'; '.join(tally.notes)} (logs in {log_dir})", file=sys.stderr
                    )
                print(f"{name}: run {i + 1}/{args.n} {'ok' if tally.clean() else 'LOST SOMETHING'}",
                      file=sys.stderr, flush=True)  # fmt: skip
            rows.append((name, total, time.monotonic() - started))
    print(table(rows))
    return 0 if all(t.clean() for _, t, _ in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
