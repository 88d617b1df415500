"""``hodei job run``: submit a job and, unless detached, be it: its output and exit code."""

from __future__ import annotations

import argparse
import asyncio
import sys

from hodei_api import v1
from hodei_api.printable import printable
from hodei_tui.backend import Backend
from hodei_tui.cli.exit_codes import HODEI_FAILED, OK
from hodei_tui.cli.explain import Announced, wait_notes
from hodei_tui.cli.follow import follow_log
from hodei_tui.cli.job_exit import job_exit
from hodei_tui.cli.logs import RawSink
from hodei_tui.cli.spec import build_spec
from hodei_tui.errors import HodeiError

# How long Ctrl-C with --cancel-on-interrupt waits for the daemon to take the cancel.
CANCEL_TIMEOUT = 10.0


def say(message: str) -> None:
    """One ``hodei:`` line on stderr; ids, reasons and the daemon's words in it made printable."""
    print(printable(f"hodei: {message}"), file=sys.stderr)


def interrupted_message(job_id: str | None) -> str:
    """What Ctrl-C leaves behind: the job runs on in the daemon."""
    if job_id is None:
        return "interrupted while submitting; the job may have been queued (see 'hodei job list')"
    return f"detached; job {job_id} keeps running (cancel it with: hodei job cancel {job_id})"


async def cancel_on_interrupt(backend: Backend, job_id: str) -> str:
    """Ctrl-C with ``--cancel-on-interrupt``: cancel the job; say what came of it."""
    try:
        async with asyncio.timeout(CANCEL_TIMEOUT):
            job = await backend.cancel_job(job_id, "hodei job run was interrupted (--cancel-on-interrupt)")
    except (HodeiError, TimeoutError) as exc:
        detail = str(exc) or f"no answer within {CANCEL_TIMEOUT:g} s"
        return (
            f"interrupted; cancelling job {job_id} failed ({detail}); retry with: hodei job cancel {job_id}"
        )
    if job.state is v1.JobState.CANCELLED:
        return f"interrupted; job {job_id} cancelled"
    return f"interrupted; job {job_id} is being cancelled (see: hodei job get {job_id})"


async def _follow_unless_gave_up(
    backend: Backend, job_id: str, wait_timeout: float | None, announced: Announced
) -> bool:
    """Follow the job's log to its end, saying why while it waits; True if it waited longer
    than ``wait_timeout`` (and nothing was followed)."""
    follower = asyncio.create_task(follow_log(backend, job_id, RawSink(sys.stdout.buffer, sys.stderr.buffer)))
    notes = asyncio.create_task(wait_notes(backend, job_id, wait_timeout, announced))
    try:
        await asyncio.wait({follower, notes}, return_when=asyncio.FIRST_COMPLETED)
        if notes.done() and notes.result():
            return True
        await follower
        return False
    finally:
        for task in (follower, notes):
            task.cancel()
        await asyncio.gather(follower, notes, return_exceptions=True)


async def run_command(args: argparse.Namespace, backend: Backend) -> int:
    """``hodei job run [flags] -- CMD [ARG...]``."""
    spec = build_spec(args)
    job_id: str | None = None
    try:
        submitted = await backend.submit_job(spec)
        job_id = submitted.job.id
        if args.detach:
            print(printable(job_id))
            return OK
        if submitted.existing:
            say(
                f"idempotency key {spec.idempotency_key!r} was already used by job {job_id}; "
                "following that job"
            )
        announced = Announced()
        if await _follow_unless_gave_up(backend, job_id, args.wait_timeout, announced):
            await backend.cancel_job(job_id, f"no worker took it within {args.wait_timeout:g} s")
            say(
                f"gave up: no worker took job {job_id} within {args.wait_timeout:g} s "
                f"(--wait-timeout); cancelled it"
            )
            return HODEI_FAILED
        final = await backend.get_job(job_id)
        # Attempts that came and went between two looks of the notes are told of now.
        announced.tell(final)
        ended = job_exit(final)
    except asyncio.CancelledError:
        # Ctrl-C: asyncio cancels us and, once we are done, raises KeyboardInterrupt, which
        # main turns into 130; until then this task may still talk to the daemon.
        if args.cancel_on_interrupt and job_id is not None:
            say(await cancel_on_interrupt(backend, job_id))
        else:
            say(interrupted_message(job_id))
        raise
    if ended.message:
        say(ended.message)
    return ended.code
