"""The record of workers seen. A record only: availability is the live session registry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from hodei_api import v1
from hodeid.errors import Conflict
from hodeid.store.db import translate
from hodeid.store.queries import Q


@dataclass(frozen=True)
class RecordedWorker:
    """A worker as the database records it, with the daemon whose stream it holds."""

    id: str
    hostname: str
    labels: dict[str, str]
    slots: int
    cpu: float
    memory_mb: int
    version: str
    attached_at: datetime | None
    last_seen_at: datetime
    sessions: int
    daemon_id: str
    live: bool
    """Whether that daemon's lease holds."""
    jobs: int
    """Its jobs ASSIGNED or RUNNING."""
    cpu_used: float
    memory_used: int


class WorkerStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def record_hello(self, hello: v1.Hello, daemon_id: str, session_id: str) -> int:
        """Record a worker's Hello, opening the stream ``session_id`` on daemon ``daemon_id``;
        return how many sessions it has had (1 for a new one). Raises ``Conflict``, recording
        nothing, if a newer Hello of the same worker process is recorded already."""
        resources = hello.resources or v1.Resources()
        async with translate():
            sessions: int | None = await self.pool.fetchval(
                Q["upsert_worker"], hello.worker_id, hello.hostname, dict(hello.labels),
                hello.slots, resources.cpu, resources.memory_mb, hello.version, daemon_id, session_id,
                hello.incarnation, hello.stream,
            )  # fmt: skip
        if sessions is None:
            raise Conflict(
                f"worker {hello.worker_id} has opened a newer stream than this one (its stream "
                f"{hello.stream}); this one is not used"
            )
        return sessions

    async def on_other_daemons(self, daemon_id: str, include_lapsed: bool) -> list[RecordedWorker]:
        """The workers whose stream, by the record, a daemon other than ``daemon_id`` holds:
        those of live daemons, and with ``include_lapsed`` those of daemons whose lease ran out."""
        async with translate():
            found = await self.pool.fetch(Q["other_daemons_workers"], daemon_id, include_lapsed)
        return [
            RecordedWorker(
                r["id"], r["hostname"], r["labels"], r["slots"], r["cpu"], r["memory_mb"], r["version"],
                r["attached_at"], r["last_seen_at"], r["sessions"], r["daemon_id"], r["live"], r["jobs"],
                r["cpu_used"], r["memory_used"],
            )
            for r in found
        ]  # fmt: skip
