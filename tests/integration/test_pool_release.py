"""The daemon's query pool hands a connection back without a reset query (a round trip on
every release), yet a transaction left open is still rolled back."""

from __future__ import annotations

import asyncio

import asyncpg

from hodeid.store import db

DEADLINE = 10.0


async def last_query(observer: asyncpg.Pool, pid: int) -> str:
    """What the backend ``pid`` ran last, once it is idle."""
    async with asyncio.timeout(DEADLINE):
        while True:
            row = await observer.fetchrow("SELECT state, query FROM pg_stat_activity WHERE pid = $1", pid)
            assert row is not None
            if row["state"] == "idle":
                return str(row["query"])
            await asyncio.sleep(0.01)


async def test_a_release_sends_no_reset_query(database_url: str, pool: asyncpg.Pool) -> None:
    lean = await db.connect(database_url, min_size=1, max_size=1, session_state=False)
    try:
        async with lean.acquire() as conn:
            pid = await conn.fetchval("SELECT pg_backend_pid() /* last */")
        assert await last_query(pool, pid) == "SELECT pg_backend_pid() /* last */"
    finally:
        await lean.close()


async def test_a_transaction_left_open_is_rolled_back_on_release(database_url: str) -> None:
    lean = await db.connect(database_url, min_size=1, max_size=1, session_state=False)
    try:
        async with lean.acquire() as conn:
            await conn.execute("BEGIN")
            await conn.execute("CREATE TABLE left_open (x int)")
        async with lean.acquire() as conn:
            assert not conn.is_in_transaction()
            assert await conn.fetchval("SELECT to_regclass('left_open')") is None
    finally:
        await lean.close()
