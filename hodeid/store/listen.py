"""LISTEN on a PostgreSQL channel over one connection of a pool, held while listening (the
daemon gives it a pool of its own, so listening never takes a connection from the queries)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import asyncpg

from hodeid.store.db import translate

JOB_CHANNEL = "hodei_jobs"
"""Announces every change to job rows with the jobs' ids, comma-separated (the
jobs_*_notify triggers)."""

LOG_CHANNEL = "hodei_logs"
"""Announces each batch of stored log lines as 'job id:greatest seq:writer' (LogStore.append)."""

CANCEL_CHANNEL = "hodei_cancels"
"""Announces each cancel asked for a job a worker holds as 'job id:attempt' (request_cancel)."""

TOKEN_CHANNEL = "hodei_tokens"
"""Announces each revocation of an API token with the token's id (the api_tokens_revoked_notify
trigger)."""


async def listen(
    pool: asyncpg.Pool, channel: str, heard: Callable[[str], None], started: Callable[[], None]
) -> None:
    """Call ``started()`` once listening, then ``heard(payload)`` for each notification on
    ``channel`` until the connection is lost (returns) or the caller is cancelled; raises
    StoreError when it cannot start."""
    lost = asyncio.Event()

    def on_notify(_conn: Any, _pid: int, _channel: str, payload: str) -> None:
        heard(payload)

    def on_lost(_conn: Any) -> None:
        lost.set()

    async with translate(), pool.acquire() as conn:
        conn.add_termination_listener(on_lost)
        await conn.add_listener(channel, on_notify)
        started()
        try:
            await lost.wait()
        finally:
            if not lost.is_set():  # a lost connection is gone from the pool already
                await conn.remove_listener(channel, on_notify)
                conn.remove_termination_listener(on_lost)
