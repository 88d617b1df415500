"""Job output in PostgreSQL: one round trip per batch, each sequence number stored once."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg

from hodei_api import loglines, v1
from hodeid.metrics import LOG_BYTES, LOG_LINES
from hodeid.store import rows
from hodeid.store.db import translate
from hodeid.store.queries import Q

# Log pages read at once: readers of big logs queue here rather than for the pool, so that
# however many follow, the other queries (ListJobs, a worker's lines) still find a connection.
READS_AT_ONCE = 2


class LogStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self._reads = asyncio.Semaphore(READS_AT_ONCE)

    async def append(self, job_id: str, lines: v1.LogLines) -> None:
        """Store ``lines`` (well formed: see ``loglines.check``), one row each; a line whose
        seq is stored already is skipped."""
        seqs, streams, data, ts_micros, attempts = loglines.columns_of(lines)
        if not seqs:
            return
        async with translate():
            await self.pool.execute(
                Q["insert_log_lines"], uuid.UUID(job_id), seqs, attempts, list(streams), data, ts_micros
            )
        LOG_LINES.inc(len(seqs))
        LOG_BYTES.inc(len(lines.data))

    async def read(self, job_id: str, after_seq: int, limit: int, max_bytes: int) -> v1.LogLines:
        """Lines with seq greater than ``after_seq``, in order: up to ``limit`` lines holding
        up to ``max_bytes`` of data, but at least one line (however long) if there is one."""
        async with self._reads, translate():
            found = await self.pool.fetch(Q["read_log_lines"], uuid.UUID(job_id), after_seq, limit, max_bytes)
        return rows.log_lines(found)
