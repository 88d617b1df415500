"""The daemons sharing the database and their leases, by the database's clock."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from hodeid.store.db import translate
from hodeid.store.queries import Q


@dataclass(frozen=True)
class Peer:
    id: str
    address: str
    version: str


@dataclass(frozen=True)
class DaemonRow:
    id: str
    address: str
    version: str
    started_at: datetime
    renewed_at: datetime
    stopped_at: datetime | None
    lease_age: float
    """Seconds since the lease was last renewed."""
    live: bool
    leading: bool
    """Whether it recorded that it leads (a leader that died leaves its mark, not live)."""
    workers: list[str]
    """The workers whose stream it holds."""


def _row(r: asyncpg.Record) -> DaemonRow:
    return DaemonRow(
        r["id"], r["address"], r["version"], r["started_at"], r["renewed_at"], r["stopped_at"],
        r["lease_age"], r["live"], r["leading"], list(r["workers"]),
    )  # fmt: skip


class DaemonStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def register(self, daemon_id: str, address: str, version: str, lease: float) -> list[Peer]:
        """Record this daemon with a lease of ``lease`` seconds; return the other live ones."""
        async with translate():
            found = await self.pool.fetch(Q["register_daemon"], daemon_id, address, version, lease)
        return [Peer(r["id"], r["address"], r["version"]) for r in found]

    async def renew(self, daemon_id: str, lease: float) -> bool | None:
        """Extend the lease; whether it had run out first (None: this daemon is stopped or unknown)."""
        async with translate():
            lapsed: bool | None = await self.pool.fetchval(Q["renew_lease"], daemon_id, lease)
        return lapsed

    async def stop(self, daemon_id: str) -> None:
        """End the lease now, and every worker stream recorded under it."""
        async with translate():
            await self.pool.execute(Q["stop_daemon"], daemon_id)

    async def detach_others(self, daemon_id: str, live_sessions: Sequence[str]) -> None:
        """Record as ended every stream of this daemon but ``live_sessions``."""
        async with translate():
            await self.pool.execute(Q["detach_workers"], daemon_id, list(live_sessions))

    async def others_live(self, daemon_id: str) -> bool:
        """Whether the lease of another daemon than ``daemon_id`` holds."""
        async with translate():
            live: bool = await self.pool.fetchval(Q["others_live"], daemon_id)
        return live

    async def workers_elsewhere(self, daemon_id: str) -> frozenset[str]:
        """The workers streaming to another live daemon than ``daemon_id``."""
        async with translate():
            found = await self.pool.fetch(Q["workers_elsewhere"], daemon_id)
        return frozenset(r["id"] for r in found)

    async def record_lead(self, daemon_id: str, leading: bool) -> None:
        """Record whether this daemon leads; a leader clears the mark any other left."""
        async with translate():
            await self.pool.execute(Q["record_lead"], daemon_id, leading)

    async def list(self, recent_seconds: float) -> list[DaemonRow]:
        """The live daemons, and those whose lease ended within ``recent_seconds``."""
        async with translate():
            found = await self.pool.fetch(Q["list_daemons"], recent_seconds)
        return [_row(r) for r in found]

    async def prune(self, older_than_seconds: float) -> None:
        """Forget daemons whose lease ended longer ago than that."""
        async with translate():
            await self.pool.execute(Q["prune_daemons"], older_than_seconds)
