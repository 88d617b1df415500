"""Job output in PostgreSQL: one round trip per batch, each sequence number stored once, and
each stored batch announced to every daemon sharing the database."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from itertools import repeat

import asyncpg

from hodei_api import loglines, v1
from hodeid.metrics import LOG_BYTES, LOG_LINES
from hodeid.store import rows
from hodeid.store.db import translate
from hodeid.store.listen import LOG_CHANNEL
from hodeid.store.logpages import PageCache
from hodeid.store.queries import Q

# Log pages read at once: readers of big logs queue here rather than for the pool, so that
# however many follow, the other queries (ListJobs, a worker's lines) still find a connection.
READS_AT_ONCE = 2
# A batch of more lines than this is stored in parts at once, up to COPIES_AT_ONCE of them.
LINES_PER_COPY = 2000
COPIES_AT_ONCE = 2

# The columns of log_lines a COPY fills, in the order of its records (asyncpg builds the
# COPY statement from them; insert_log_lines in queries.sql stores the same).
_COLUMNS = ("job_id", "seq", "attempt", "stream", "data", "ts")
_STREAM_NAME = {stream.value: stream.name for stream in v1.LogStream}


class LogStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self._reads = asyncio.Semaphore(READS_AT_ONCE)
        self.kept = PageCache()
        self.queries = 0
        """Pages read from PostgreSQL (the others came from ``kept``)."""
        self.writer = uuid.uuid4().hex[:12]
        """Names this store in its announcements, so that its daemon knows its own."""

    async def append(self, job_id: str, lines: v1.LogLines) -> None:
        """Store ``lines`` (well formed: see ``loglines.check``), one row each; a line whose
        seq is stored already is skipped.

        The lines are copied in (COPY costs PostgreSQL half what an INSERT does per row,
        measured), a big batch in parts on connections of their own, so that PostgreSQL stores
        them on more than one core; it returns once every part is committed. The parts commit
        in order (each waits for the one before), so that a reader never sees a part without
        the lines before it, and skips none. If a part meets a line stored already (a
        worker's replay after a reconnect), that COPY stores none and its lines are inserted
        instead, each seq at most once.

        Then the batch is announced (NOTIFY hodei_logs, 'job id:greatest seq:writer'): a
        daemon that hears it and reads storage finds every line up to that seq.
        """
        columns = loglines.columns_of(lines)
        count = len(columns.seqs)
        if not count:
            return
        job = uuid.UUID(job_id)
        parts = min(COPIES_AT_ONCE, -(-count // LINES_PER_COPY))
        bounds = [count * n // parts for n in range(parts + 1)]
        copies: list[asyncio.Task[None]] = []
        for start, end in itertools.pairwise(bounds):
            previous = copies[-1] if copies else None
            copies.append(asyncio.create_task(self._copy(job, columns, start, end, previous)))
        async with translate():
            await asyncio.gather(*copies)
            announced = f"{job}:{max(columns.seqs)}:{self.writer}"
            await self.pool.execute(Q["announce_log_lines"], LOG_CHANNEL, announced)
        LOG_LINES.inc(count)
        LOG_BYTES.inc(len(lines.data))

    async def _copy(
        self,
        job: uuid.UUID,
        columns: loglines.Columns,
        start: int,
        end: int,
        previous: asyncio.Task[None] | None,
    ) -> None:
        """Store the lines ``start`` to ``end`` of ``columns``, committed once the ``previous``
        part is, and not if it failed (see ``append``)."""
        seqs, streams, data, ts_micros, attempts = columns.part(start, end)
        async with self.pool.acquire() as conn:
            records = zip(
                repeat(job),
                seqs,
                attempts,
                map(_STREAM_NAME.__getitem__, streams),
                data,
                loglines.timestamps(ts_micros),
            )
            try:
                if previous is None:
                    await conn.copy_records_to_table("log_lines", records=records, columns=_COLUMNS)
                else:
                    async with conn.transaction():
                        await conn.copy_records_to_table("log_lines", records=records, columns=_COLUMNS)
                        await _succeeded(previous)
            except asyncpg.UniqueViolationError:
                if previous is not None:
                    await _succeeded(previous)
                await conn.execute(Q["insert_log_lines"], job, seqs, attempts, list(streams), data, ts_micros)

    async def read(self, job_id: str, after_seq: int, limit: int, max_bytes: int) -> v1.LogLines:
        """Lines with seq greater than ``after_seq``, in order: up to ``limit`` lines holding
        up to ``max_bytes`` of data, but at least one line (however long) if there is one.

        Readers of the same page share it (see ``PageCache``): the returned page is theirs
        too, never to be changed."""
        key = (job_id, after_seq, limit, max_bytes)
        return await self.kept.get(key, lambda: self._query(job_id, after_seq, limit, max_bytes))

    async def _query(self, job_id: str, after_seq: int, limit: int, max_bytes: int) -> v1.LogLines:
        async with self._reads, translate(), self.pool.acquire() as conn, conn.transaction():
            self.queries += 1
            await conn.execute(Q["plan_read_log_lines"])
            found = await conn.fetchrow(Q["read_log_lines"], uuid.UUID(job_id), after_seq, limit, max_bytes)
        assert found is not None  # an aggregate gives one row
        return rows.log_lines(found)


async def _succeeded(task: asyncio.Task[None]) -> None:
    """Wait for ``task`` (without cancelling it if the waiter is cancelled) and raise what
    it raised."""
    await asyncio.wait([task])
    task.result()
