"""``hodei job explain``, and the notes ``job run`` prints while its job waits for a worker."""

from __future__ import annotations

import argparse
import asyncio
import sys

from hodei_api import v1
from hodei_api.printable import printable
from hodei_tui.backend import Backend
from hodei_tui.cli.exit_codes import OK
from hodei_tui.cli.render import to_json
from hodei_tui.cli.render_decisions import explain_text, explain_to_dict
from hodei_tui.errors import DaemonUnreachable, RequestRefused

# How long a job may wait before `job run` says why, and how often it looks again.
FIRST_NOTE_AFTER = 1.0
POLL_EVERY = 1.0


async def explain_command(args: argparse.Namespace, backend: Backend) -> int:
    """``hodei job explain ID [-v] [-o json]``."""
    explained = await backend.explain_job(args.id)
    if args.output == "json":
        print(to_json(explain_to_dict(args.id, explained)))
    else:
        print(explain_text(args.id, explained, args.verbose))
    return OK


async def wait_notes(backend: Backend, job_id: str, give_up_after: float | None) -> bool:
    """While the job is PENDING, say why on stderr (once, then each time the reason changes).

    Returns False once the job left PENDING, True if it was still waiting after
    ``give_up_after`` seconds. The notes are best effort: a daemon that cannot explain (an
    older one, say) only costs the notes, never the run.
    """
    loop = asyncio.get_running_loop()
    deadline = None if give_up_after is None else loop.time() + give_up_after
    said = ""
    await asyncio.sleep(min(FIRST_NOTE_AFTER, give_up_after or FIRST_NOTE_AFTER))
    while True:
        try:
            if (await backend.get_job(job_id)).state is not v1.JobState.PENDING:
                return False
            summary = await _why_waiting(backend, job_id)
        except DaemonUnreachable:
            summary = ""  # the log follower reports and rides out the outage
        if summary and summary != said:
            print(
                printable(f"hodei: job {job_id} is waiting: {summary} (see: hodei job explain {job_id})"),
                file=sys.stderr,
            )
            said = summary
        if deadline is not None and loop.time() >= deadline:
            return True
        pause = POLL_EVERY if deadline is None else min(POLL_EVERY, max(0.0, deadline - loop.time()))
        await asyncio.sleep(pause)


async def _why_waiting(backend: Backend, job_id: str) -> str:
    try:
        explained = await backend.explain_job(job_id)
    except RequestRefused:
        return ""
    return explained.decisions[0].summary if explained.decisions else ""
