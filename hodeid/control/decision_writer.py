"""The decision trace's writes, off the scheduler's path: a scheduling pass hands its
decisions over and goes on filling slots, and the decisions that came while one write was
in flight go together in the next (one statement and one WAL flush for several passes). A
write that failed because the database was unavailable is tried again with its rows, in
order, until it succeeds; one the database refused (a bug in hodeid, which a retry would only
repeat) is logged with its rows' count, as a failed pass was before. Reads of the trace wait
for what this daemon had handed over before them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from hodei_api.backoff import Backoff
from hodeid.errors import DatabaseUnavailable
from hodeid.store.decisions import DecisionRow, DecisionStore

log = logging.getLogger(__name__)


class DecisionWriter:
    def __init__(self, store: DecisionStore, backoff: Backoff | None = None) -> None:
        self.store = store
        self._backoff = backoff or Backoff(base=0.1, cap=5.0)
        self._queued: list[DecisionRow] = []
        self._handed = 0
        self._settled = 0
        """Rows stored, or given up on: what ``flush`` waits for."""
        self._settled_changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None

    def add(self, rows: Sequence[DecisionRow]) -> None:
        """Queue ``rows`` to be stored, after every row queued before them."""
        if not rows:
            return
        self._queued.extend(rows)
        self._handed += len(rows)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._write(), name="decision writer")

    async def flush(self) -> None:
        """Until every row queued before this call is stored (or refused by the database)."""
        target = self._handed
        async with self._settled_changed:
            await self._settled_changed.wait_for(lambda: self._settled >= target)

    async def close(self, wait: float) -> None:
        """Store what is queued, for at most ``wait`` seconds, then stop writing."""
        try:
            async with asyncio.timeout(wait):
                await self.flush()
        except TimeoutError:
            log.warning(
                "%d placement decision(s) not stored: the database did not take them in %g s",
                self._handed - self._settled,
                wait,
            )
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _write(self) -> None:
        while self._queued:
            rows, self._queued = self._queued, []
            try:
                await self.store.append(rows)
            except DatabaseUnavailable as exc:
                self._queued[:0] = rows
                delay = self._backoff.next_delay()
                log.warning(
                    "storing %d placement decision(s) failed (%s); retrying in %.1f s",
                    len(rows),
                    exc.message,
                    delay,
                )
                await asyncio.sleep(delay)
                continue
            except Exception:
                log.exception("the database refused %d placement decision(s); they are not stored", len(rows))
            else:
                self._backoff.reset()
            async with self._settled_changed:
                self._settled += len(rows)
                self._settled_changed.notify_all()
