"""``hodei worker list`` and ``worker drain``."""

from __future__ import annotations

import argparse

from hodei_api.printable import printable
from hodei_tui.backend import Backend
from hodei_tui.cli.exit_codes import OK
from hodei_tui.cli.render import to_json
from hodei_tui.cli.render_workers import worker_to_dict, workers_table


async def list_command(args: argparse.Namespace, backend: Backend) -> int:
    """``hodei worker list [--all] [-o json]``."""
    workers = await backend.list_workers(args.all)
    if args.output == "json":
        print(to_json([worker_to_dict(worker) for worker in workers]))
    else:
        print(workers_table(workers))
    return OK


async def drain_command(args: argparse.Namespace, backend: Backend) -> int:
    """``hodei worker drain ID [--stay] [-o json]``."""
    worker = await backend.drain_worker(args.id, args.stay)
    if args.output == "json":
        print(to_json(worker_to_dict(worker)))
    else:
        after = "stays connected when idle" if args.stay else "exits when idle"
        print(printable(f"worker {worker.id} is draining; it takes no new jobs and {after}"))
    return OK
