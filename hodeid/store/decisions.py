"""Placement decisions in PostgreSQL: appended in batches, read newest first, pruned per job."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from hodeid.store.db import translate
from hodeid.store.queries import Q


@dataclass(frozen=True)
class DecisionRow:
    """A decision as stored; verdicts as [target, kind, reason, message, could_fit, score]."""

    job_id: str
    decided_at: datetime
    outcome: str
    worker_id: str | None
    strategy: str
    duration_ms: float
    verdicts: list[list[Any]]
    daemon_id: str | None = None
    """The daemon that made it (None for decisions stored before daemons recorded it)."""


class DecisionStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def append(self, rows: Sequence[DecisionRow]) -> None:
        """Store decisions in one round trip (those of jobs deleted meanwhile are skipped)."""
        if not rows:
            return
        async with translate():
            await self.pool.execute(
                Q["insert_decisions"],
                [uuid.UUID(r.job_id) for r in rows],
                [r.decided_at for r in rows],
                [r.outcome for r in rows],
                [r.worker_id for r in rows],
                [r.strategy for r in rows],
                [r.duration_ms for r in rows],
                [json.dumps(r.verdicts) for r in rows],
                [r.daemon_id for r in rows],
            )

    async def of_job(self, job_id: str, limit: int) -> list[DecisionRow]:
        async with translate():
            found = await self.pool.fetch(Q["job_decisions"], uuid.UUID(job_id), limit)
        return [
            DecisionRow(job_id, r["decided_at"], r["outcome"], r["worker_id"], r["strategy"],
                        r["duration_ms"], r["verdicts"], r["daemon_id"])
            for r in found
        ]  # fmt: skip

    async def prune(self, keep: int) -> int:
        """Keep the newest ``keep`` decisions of each job; return how many were deleted."""
        async with translate():
            status: str = await self.pool.execute(Q["prune_decisions"], keep)
        return int(status.split()[-1])
