"""The group commit of submissions. A job without dependencies submitted while a group is
being written waits for that write, then goes with every job that came meanwhile in one
statement (``insert_jobs``): one transaction, one WAL flush and one NOTIFY for all of them.
Written one by one they could not share a flush: a transaction that notifies holds a
database-wide lock from before its commit until the commit is flushed, so PostgreSQL commits
them one after another, a disk flush each. Each submitter is answered only once its job is
committed; one that is alone is written at once, never held back to wait for company."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import asyncpg

from hodeid.store.failures import DRIVER_ERRORS
from hodeid.store.queries import Q

log = logging.getLogger(__name__)

Waiting = tuple[dict[str, Any], "asyncio.Future[asyncpg.Record | None]"]


class GroupInsert:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self._waiting: list[Waiting] = []
        self._writing = asyncio.Lock()
        self._writes: set[asyncio.Task[None]] = set()

    async def insert(self, job: dict[str, Any]) -> asyncpg.Record | None:
        """The row of ``job`` (insert_jobs' columns by name) once it is committed; None if it
        was not inserted (its submitter's limit, its idempotency key, or the group's statement
        failed): the caller then inserts it alone, which says why."""
        future: asyncio.Future[asyncpg.Record | None] = asyncio.get_running_loop().create_future()
        self._waiting.append((job, future))
        try:
            async with self._writing:
                if not future.done():
                    group = [w for w in self._waiting if not w[1].cancelled()]
                    self._waiting = []
                    # Shielded: a submitter that goes away mid-write does not cancel the
                    # others' write, which answers them.
                    write = asyncio.ensure_future(self._write(group))
                    self._writes.add(write)
                    write.add_done_callback(self._writes.discard)
                    await asyncio.shield(write)
            return await future
        except asyncio.CancelledError:
            future.cancel()  # not yet taken into a group: it is left out
            raise

    async def _write(self, group: list[Waiting]) -> None:
        try:
            records = await self.pool.fetch(Q["insert_jobs"], [job for job, _ in group])
        except DRIVER_ERRORS as exc:
            log.warning("writing %d jobs together failed (%s); writing each alone", len(group), exc)
            records = []  # each gets its own answer, or its own error
        except BaseException:
            for _, future in group:
                future.cancel()
            raise
        inserted = {str(r["id"]): r for r in records}
        for job, future in group:
            if not future.done():
                future.set_result(inserted.get(job["id"]))
