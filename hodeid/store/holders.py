"""Which worker stream holds each attempt, across every daemon sharing the database: a
returning worker's attempts moved to its new stream, and the attempts no live stream holds."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import asyncpg

from hodei_api import v1
from hodeid.store.db import translate
from hodeid.store.queries import Q

Key = tuple[str, int]  # (job id, attempt)


@dataclass(frozen=True)
class Adopted:
    """An attempt a returning worker still runs, now held by its new stream."""

    job_id: str
    attempt: int
    cancel_reason: str | None
    kill_grace: float


@dataclass(frozen=True)
class Held:
    """A current attempt the store gives a worker."""

    job_id: str
    attempt: int
    started: bool
    session_id: str | None
    """The stream that holds it: a verdict on it is fenced by this."""


@dataclass(frozen=True)
class Absent:
    """A current attempt no live worker stream holds."""

    job_id: str
    attempt: int
    worker_id: str
    session_id: str | None
    """The stream that held it when it was looked at: a verdict on it is fenced by this."""
    timeout: float
    kill_grace: float
    running_seconds: float | None
    """Seconds since it started (None while ASSIGNED), by the database's clock."""
    absent_seconds: float
    """Seconds no live stream has held it, by the database's clock."""


def _absent(r: asyncpg.Record) -> Absent:
    return Absent(
        str(r["id"]), r["attempt"], r["worker_id"], r["session_id"], r["timeout_seconds"],
        r["kill_grace_seconds"], r["running_seconds"], r["absent_seconds"],
    )  # fmt: skip


class HolderStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def adopt(
        self,
        worker_id: str,
        daemon_id: str,
        session_id: str,
        keys: Sequence[Key],
        held: Collection[v1.JobState],
    ) -> list[Adopted]:
        """Move to the stream ``session_id`` of this daemon those of ``keys`` (the attempts the
        worker says it runs) that are still current and its own, their job in one of the
        ``held`` states."""
        if not keys:
            return []
        async with translate():
            found = await self.pool.fetch(
                Q["adopt_attempts"], worker_id, daemon_id, session_id,
                [uuid.UUID(j) for j, _ in keys], [a for _, a in keys], [s.name for s in held],
            )  # fmt: skip
        return [
            Adopted(str(r["job_id"]), r["number"], r["cancel_reason"], r["kill_grace_seconds"]) for r in found
        ]

    async def held_by(self, worker_id: str, session_id: str) -> list[Held]:
        """The current attempts the store gives ``worker_id``; none unless ``session_id`` is
        still its newest stream (a newer one may hold attempts this one cannot speak for)."""
        async with translate():
            found = await self.pool.fetch(Q["held_by_worker"], worker_id, session_id)
        return [Held(str(r["id"]), r["attempt"], r["started"], r["session_id"]) for r in found]

    async def absent(self, daemon_id: str, leader: bool) -> list[Absent]:
        """The current attempts no live stream holds, among those of this daemon's streams or,
        for the ``leader``, everyone's."""
        async with translate():
            found = await self.pool.fetch(Q["absent_attempts"], daemon_id, leader)
        return [_absent(r) for r in found]
