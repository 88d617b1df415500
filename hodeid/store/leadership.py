"""The cluster leader's lock: a PostgreSQL advisory lock held on a connection of its own, so
that it passes to another daemon as soon as the leader's connection ends (it died, or lost
the database)."""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg

from hodeid.store.db import translate
from hodeid.store.failures import DRIVER_ERRORS
from hodeid.store.queries import Q

# A leader whose connection does not answer this fast may have lost the lock.
CHECK_SECONDS = 2.0


class LeaderLock:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self._conn: asyncpg.Connection | None = None

    async def acquire(self) -> bool:
        """Take the lock if nobody holds it; whether this daemon holds it now."""
        if self._conn is not None:
            return await self._alive()
        async with translate():
            conn = await self.pool.acquire()
            try:
                got = await conn.fetchval(Q["try_lead"])
            except BaseException:
                await self.pool.release(conn)
                raise
            if not got:
                await self.pool.release(conn)
                return False
            self._conn = conn
            return True

    async def _alive(self) -> bool:
        assert self._conn is not None
        try:
            async with asyncio.timeout(CHECK_SECONDS):
                await self._conn.fetchval("SELECT 1")
            return True
        except (TimeoutError, *DRIVER_ERRORS):
            await self._drop()
            return False

    async def release(self) -> None:
        """Let another daemon lead."""
        if self._conn is None:
            return
        try:
            await self._conn.fetchval(Q["stop_leading"])
            conn, self._conn = self._conn, None
            await self.pool.release(conn)
        except DRIVER_ERRORS:
            await self._drop()

    async def _drop(self) -> None:
        """Give up the connection, and with it the lock, without a word to the server (it
        may be gone already, the pool closed under it)."""
        assert self._conn is not None
        conn, self._conn = self._conn, None
        with contextlib.suppress(*DRIVER_ERRORS):
            conn.terminate()
            await self.pool.release(conn)
