"""Provisioning and resume tokens in PostgreSQL, by their sha256, so that every daemon sharing
the database admits a provisioned worker. Times are the database's: daemons' clocks may differ."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from hodeid.store.db import translate
from hodeid.store.queries import Q


@dataclass(frozen=True)
class JoinTokenRow:
    """What is known of a one-time token, to say why it was refused."""

    worker_id: str
    used: bool
    revoked: bool
    expired: bool
    ttl_seconds: float


@dataclass(frozen=True)
class ProvisionedRow:
    """A worker a provider created that is not destroyed: its token not revoked."""

    worker_id: str
    token_sha256: bytes
    provider: str
    joined: bool
    """Its one-time token was used: it connected once."""


class JoinTokenStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def insert(
        self, digest: bytes, worker_id: str, ttl_seconds: float, provider: str | None = None
    ) -> None:
        """A one-time token for ``worker_id``, which ``provider`` creates, expiring
        ``ttl_seconds`` from now."""
        async with translate():
            await self.pool.execute(Q["insert_join_token"], digest, worker_id, ttl_seconds, provider)

    async def members(self, providers: Sequence[str]) -> list[ProvisionedRow]:
        """The workers ``providers`` created and nobody destroyed, oldest first."""
        async with translate():
            found = await self.pool.fetch(Q["provisioned_members"], list(providers))
        return [ProvisionedRow(**dict(r)) for r in found]

    async def consume(self, digest: bytes, worker_id: str, resume_digest: bytes) -> bool:
        """Spend the one-time token on ``worker_id`` and bind ``resume_digest`` to it; True only
        for the one caller that spent it, and only while it is valid for that worker."""
        async with translate():
            spent = await self.pool.fetchval(Q["consume_join_token"], digest, worker_id, resume_digest)
        return spent is not None

    async def get(self, digest: bytes) -> JoinTokenRow | None:
        async with translate():
            record = await self.pool.fetchrow(Q["get_join_token"], digest)
        return None if record is None else JoinTokenRow(**dict(record))

    async def resumed_worker(self, resume_digest: bytes) -> str | None:
        """The worker id a resume token admits; None if unknown or revoked."""
        async with translate():
            worker_id: str | None = await self.pool.fetchval(Q["resumed_worker"], resume_digest)
        return worker_id

    async def revoke(self, digest: bytes) -> bool:
        """Revoke a one-time token and the resume token it was exchanged for; False if unknown
        or revoked already."""
        async with translate():
            revoked = await self.pool.fetchval(Q["revoke_join_token"], digest)
        return revoked is not None

    async def consumed(self, digest: bytes) -> bool:
        """Whether the one-time token was used (or revoked)."""
        async with translate():
            consumed: bool | None = await self.pool.fetchval(Q["join_token_consumed"], digest)
        return bool(consumed)

    async def provisioned(self, worker_id: str) -> bool:
        """Whether ``worker_id`` belongs to a provider's worker: a token not revoked is bound to it."""
        async with translate():
            provisioned: bool = await self.pool.fetchval(Q["worker_id_provisioned"], worker_id)
        return provisioned
