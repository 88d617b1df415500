"""A follower's view of a job's log: history from storage, then live lines, in order,
with no gap and no duplicate at the seam."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator

from hodei_api import v1
from hodei_api.loglines import after, seq_numbers
from hodeid.control.loghub import LogHub, Subscription, Wake
from hodeid.domain.states import is_terminal
from hodeid.store.jobs import JobStore
from hodeid.store.logs import LogStore

PAGE = 20_000
"""Most lines in one page of history (a page also holds at most ``page_bytes`` of data). Its
other columns take 25 bytes a line, so at most 500 KB beside the data; a page is one query,
and short lines made 5,000 a page cost a query per 35 KB (a 1,000,000-line log read in 200)."""
# How often a follower re-checks the job in storage even without news (a safety net: lines
# and job changes are announced, whichever daemon stores them; see LogHub).
RECHECK_SECONDS = 5.0

Chunk = tuple[v1.LogLines | None, v1.JobState | None]
"""Lines (None in the last chunk) and, in the last chunk of a followed log, the final state."""


async def _history(
    logs: LogStore,
    job_id: str,
    after_seq: int,
    page_bytes: int,
    sub: Subscription | None = None,
    upto: int | None = None,
) -> AsyncIterator[tuple[v1.LogLines, int]]:
    """Pages of stored lines after ``after_seq``, each with its last seq, until none is left
    or, with ``sub``, until its queue holds the rest (a follower of a job writing fast would
    otherwise chase its end through storage, a query per page), or, with ``upto``, once
    the lines up to that seq are read (no query to find nothing after them).

    One page at a time: the caller sends a page before it asks for the next, so a reader that
    stops reading holds at most one page of the daemon's memory.
    """
    while (upto is None or after_seq < upto) and (
        seqs := seq_numbers(page := await logs.read(job_id, after_seq, _to_round(after_seq), page_bytes))
    ):
        after_seq = seqs[-1]
        yield page, after_seq
        if sub is not None and sub.caught_up(after_seq):
            return


def _to_round(after_seq: int) -> int:
    """Lines up to the next multiple of ``PAGE``: readers that start inside another's page (a
    follower back from an overflowed queue) end their first page where it ends, and from there
    ask for the same pages, which they share (see ``LogStore.read``)."""
    return PAGE - after_seq % PAGE


async def follow(
    jobs: JobStore,
    logs: LogStore,
    hub: LogHub,
    job_id: str,
    after_seq: int,
    live: bool,
    page_bytes: int,
) -> AsyncGenerator[Chunk]:
    """Yield (lines, None) chunks, history in pages of at most ``page_bytes`` of data (or one
    line); with ``live``, end with (None, final state) once the job ends."""
    await jobs.state(job_id)  # NotFound before anything else
    sub = hub.subscribe(job_id) if live else None
    try:
        while True:
            # The subscription is (re)started before the history is read: a line stored after
            # the read is in the queue (or marks an overflow), one stored before it is in the
            # history. A follower that overflowed comes back here and catches up from storage.
            if sub is not None:
                hub.resync(sub)
            async for page, last in _history(logs, job_id, after_seq, page_bytes, sub):
                yield page, None
                after_seq = last
            if sub is None:
                return
            state = await jobs.state(job_id)
            if is_terminal(state):
                async for page, last in _history(logs, job_id, after_seq, page_bytes):
                    yield page, None
                    after_seq = last
                yield None, state
                return
            async for lines, last in _live(jobs, logs, sub, after_seq, page_bytes):
                yield lines, None
                after_seq = last
    finally:
        if sub is not None:
            hub.unsubscribe(sub)


async def _live(
    jobs: JobStore, logs: LogStore, sub: Subscription, after_seq: int, page_bytes: int
) -> AsyncIterator[tuple[v1.LogLines, int]]:
    """Lines from the queue, and from storage when woken to read it, each chunk with its
    greatest seq, until the queue overflows, the job ends, or it is time to re-check."""
    while not sub.overflowed:
        try:
            item = await asyncio.wait_for(sub.get(), RECHECK_SECONDS)
        except TimeoutError:
            return
        if item is None or isinstance(item, v1.JobState):
            return
        if isinstance(item, Wake):
            # A job that changed but goes on (it started, say) keeps its follower on its
            # queue: going back to storage would cost a query per page of a fast job's lines.
            if item.changed and is_terminal(await jobs.state(sub.job_id)):
                return
            # Lines stored by another daemon, up to the seq heard (or all, after news was
            # missed): read them (lines queued meanwhile are stored too, and skipped by seq); a
            # batch is committed in order and announced once whole, so none before is missing.
            async for page, last in _history(logs, sub.job_id, after_seq, page_bytes, upto=item.stored):
                yield page, last
                after_seq = last
            continue
        if (seqs := seq_numbers(fresh := after(item, after_seq))) and seqs[0] > after_seq + 1:
            # The lines before these may have been stored by another daemon, not heard of yet
            # (a worker that moved between daemons): read them first, so that none is skipped.
            async for page, last in _history(logs, sub.job_id, after_seq, page_bytes, upto=seqs[0] - 1):
                yield page, last
                after_seq = last
            seqs = seq_numbers(fresh := after(fresh, after_seq))
        if seqs:
            after_seq = max(seqs)
            yield fresh, after_seq
