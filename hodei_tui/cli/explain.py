"""``hodei job explain``, and the notes ``job run`` prints while its job waits for a worker."""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass

from hodei_api import v1
from hodei_api.printable import printable
from hodei_tui.backend import Backend
from hodei_tui.cli.endings import new_retry_notes, waiting_to_retry
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


@dataclass
class Announced:
    """The attempts whose end ``job run`` has told of, up to this number."""

    upto: int = 0

    def tell(self, job: v1.Job) -> None:
        """Tell of the attempts that ended since, and were followed by another."""
        notes, self.upto = new_retry_notes(job, self.upto)
        for note in notes:
            print(printable(f"hodei: job {job.id}: {note}"), file=sys.stderr)


async def wait_notes(
    backend: Backend, job_id: str, give_up_after: float | None, announced: Announced | None = None
) -> bool:
    """While the job waits, say why on stderr: before its first attempt, why no worker took
    it (once, then each time the reason changes); between attempts, how the last one ended
    and when the next starts (``attempt 1 failed (exit 5); attempt 2 of 3 in 1.0 s``); what
    it told of is kept in ``announced``, so that the end can tell of any attempt it missed.

    Returns True if it was still waiting for its first worker after ``give_up_after``
    seconds; False once it left PENDING, unless it may be retried (``--retries``): then it
    keeps watching until cancelled. The notes are best effort: a daemon that cannot explain
    (an older one, say) only costs the notes, never the run.
    """
    loop = asyncio.get_running_loop()
    deadline = None if give_up_after is None else loop.time() + give_up_after
    said = ""
    announced = announced or Announced()
    started = False
    await asyncio.sleep(min(FIRST_NOTE_AFTER, give_up_after or FIRST_NOTE_AFTER))
    while True:
        summary = ""
        try:
            job = await backend.get_job(job_id)
            announced.tell(job)
            if job.state is not v1.JobState.PENDING:
                # A worker took it: the give-up no longer applies.
                started = True
                if not (job.spec and job.spec.max_retries):
                    return False
            elif not waiting_to_retry(job):
                # (While a retry waits out its backoff the scheduler would say it fits now.)
                summary = await _why_waiting(backend, job_id)
        except DaemonUnreachable:
            pass  # the log follower reports and rides out the outage
        if summary and summary != said:
            print(
                printable(f"hodei: job {job_id} is waiting: {summary} (see: hodei job explain {job_id})"),
                file=sys.stderr,
            )
            said = summary
        if not started and deadline is not None and loop.time() >= deadline:
            return True
        pause = POLL_EVERY
        if not started and deadline is not None:
            pause = min(POLL_EVERY, max(0.0, deadline - loop.time()))
        await asyncio.sleep(pause)


async def _why_waiting(backend: Backend, job_id: str) -> str:
    try:
        explained = await backend.explain_job(job_id)
    except RequestRefused:
        return ""
    return explained.decisions[0].summary if explained.decisions else ""
