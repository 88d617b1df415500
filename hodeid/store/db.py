"""The asyncpg pool, migrations, and the translation of driver errors into StoreError."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from hodeid.errors import DatabaseBug, DatabaseUnavailable
from hodeid.metrics import DATABASE_SECONDS
from hodeid.store.failures import DRIVER_ERRORS, store_error
from hodeid.store.queries import migrations

log = logging.getLogger(__name__)

_MIGRATIONS_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def _keep_session(_conn: asyncpg.Connection) -> None:
    """Release without a reset query. asyncpg still rolls back a transaction left open and
    drops listener callbacks before calling this; what the default query would also undo
    (SET, LISTEN, advisory locks, open cursors) the daemon's queries never leave behind:
    they run no SET but SET LOCAL (undone when its transaction ends) and open no cursor,
    LISTEN runs on a pool of its own, and the one advisory lock (``migrate``) is released, or
    its connection closed, before it goes back."""


async def connect(
    url: str, *, min_size: int = 2, max_size: int = 10, session_state: bool = True
) -> asyncpg.Pool:
    """Open a pool on ``url`` or raise DatabaseUnavailable saying where it failed to connect. Without
    ``session_state`` (for connections whose users leave none) a release costs no round
    trip: a reset query on every release was 8% of the daemon's CPU at full load."""
    reset = None if session_state else _keep_session
    try:
        pool = await asyncpg.create_pool(
            url, min_size=min_size, max_size=max_size, init=_init_connection, reset=reset
        )
    except DRIVER_ERRORS as exc:
        raise DatabaseUnavailable(f"cannot connect to PostgreSQL at {redact(url)}: {exc}") from exc
    assert pool is not None
    return pool


async def ping(pool: asyncpg.Pool, seconds: float) -> None:
    """Run ``SELECT 1`` on a pooled connection within ``seconds``, or raise StoreError."""
    async with translate(), asyncio.timeout(seconds), pool.acquire() as conn:
        await conn.fetchval("SELECT 1")


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    head, at, tail = url.rpartition("@")
    if not at or ":" not in head.split("//", 1)[-1]:
        return url
    scheme, _, userinfo = head.partition("//")
    user = userinfo.split(":", 1)[0]
    return f"{scheme}//{user}:***@{tail}"


async def migrate(pool: asyncpg.Pool) -> list[str]:
    """Apply the migrations not yet recorded, in order, each in its own transaction."""
    applied: list[str] = []
    async with translate(), pool.acquire() as conn:
        # One daemon migrates at a time; the others wait here and then find nothing to do.
        await conn.execute("SELECT pg_advisory_lock(7041988)")
        try:
            await conn.execute(_MIGRATIONS_TABLE)
            done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
            for version, name, sql in migrations():
                if version in done:
                    continue
                async with conn.transaction():
                    await conn.execute(sql)
                    await conn.execute(
                        "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                        version,
                        name,
                    )
                applied.append(f"{version:04d}_{name}")
        finally:
            try:
                await conn.execute("SELECT pg_advisory_unlock(7041988)")
            except BaseException:
                # Its pool may not reset it: never hand back a connection that holds the lock.
                conn.terminate()
                raise
    for name in applied:
        log.info("applied migration %s", name)
    return applied


@asynccontextmanager
async def translate() -> AsyncIterator[None]:
    """Turn driver errors raised inside the block into StoreError, and time the block: a
    connection-level failure becomes DatabaseUnavailable (clients retry), anything else
    DatabaseBug (INTERNAL, nobody retries), logged here with its traceback because whoever
    catches it, a request or a background loop, only reports its message."""
    started = time.perf_counter()
    try:
        yield
    except DRIVER_ERRORS as exc:
        error = store_error(exc)
        if isinstance(error, DatabaseBug):
            log.error("%s", error.message, exc_info=exc)
        raise error from exc
    finally:
        DATABASE_SECONDS.observe(time.perf_counter() - started)
