"""``hodei job get``, ``job list``, ``job cancel`` and ``job retry``."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from hodei_api import v1
from hodei_tui.backend import Backend, Listed
from hodei_tui.cli.exit_codes import OK
from hodei_tui.cli.render import to_json, to_json_line
from hodei_tui.cli.render_jobs import cancel_text, job_text, job_to_dict, jobs_table, retry_text


async def get_command(args: argparse.Namespace, backend: Backend) -> int:
    """``hodei job get ID [-o json]``."""
    job = await backend.get_job(args.id)
    print(to_json(job_to_dict(job)) if args.output == "json" else job_text(job, datetime.now(UTC)))
    return OK


async def list_command(args: argparse.Namespace, backend: Backend) -> int:
    """``hodei job list [--state S]... [--limit N | --all] [-o json|jsonl|wide]``; when jobs are
    left out, says so on stderr."""
    states = [v1.JobState[name] for name in args.state]
    if args.all:
        jobs = []
        async for page in backend.every_job(states):
            if args.output == "jsonl":
                # Written page by page: the whole history need not fit in memory.
                print("\n".join(to_json_line(job_to_dict(job)) for job in page), flush=True)
            else:
                jobs.extend(page)
        listed = Listed(jobs, more=False)
    else:
        listed = await backend.list_jobs(states, args.limit)
        if args.output == "jsonl":
            for job in listed.jobs:
                print(to_json_line(job_to_dict(job)))
    if args.output == "json":
        print(to_json([job_to_dict(job) for job in listed.jobs]))
    elif args.output in (None, "wide"):
        print(jobs_table(listed.jobs, datetime.now(UTC), wide=args.output == "wide"))
    if listed.more:
        shown = len(listed.jobs)
        if listed.total is None:  # a daemon older than this hodei does not count them
            note = f"showing the newest {shown:,} jobs; there are more"
        else:
            note = f"showing the newest {shown:,} of {listed.total:,} jobs"
        print(f"hodei: {note}: --limit N or --all", file=sys.stderr)
    return OK


async def cancel_command(args: argparse.Namespace, backend: Backend) -> int:
    """``hodei job cancel ID [--reason R] [-o json]``: prints the state the job is in now."""
    job = await backend.cancel_job(args.id, args.reason)
    print(to_json(job_to_dict(job)) if args.output == "json" else cancel_text(job))
    return OK


async def retry_command(args: argparse.Namespace, backend: Backend) -> int:
    """``hodei job retry ID [-o json]``: queue a finished job again as its next attempt."""
    job = await backend.retry_job(args.id)
    print(to_json(job_to_dict(job)) if args.output == "json" else retry_text(job))
    return OK
