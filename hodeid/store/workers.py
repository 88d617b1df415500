"""The record of workers seen. A record only: availability is the live session registry."""

from __future__ import annotations

import asyncpg

from hodei_api import v1
from hodeid.store.db import translate
from hodeid.store.queries import Q


class WorkerStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def record_hello(self, hello: v1.Hello, daemon_id: str, session_id: str) -> int:
        """Record a worker's Hello, opening the stream ``session_id`` on daemon ``daemon_id``;
        return how many sessions it has had (1 for a new one)."""
        resources = hello.resources or v1.Resources()
        async with translate():
            sessions: int = await self.pool.fetchval(
                Q["upsert_worker"], hello.worker_id, hello.hostname, dict(hello.labels),
                hello.slots, resources.cpu, resources.memory_mb, hello.version, daemon_id, session_id,
            )  # fmt: skip
        return sessions
