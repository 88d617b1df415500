"""API tokens in PostgreSQL: the hash of each one's secret, never the secret itself."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from hodeid.store.db import translate
from hodeid.store.queries import Q


@dataclass(frozen=True)
class TokenRow:
    id: str
    name: str
    role: str
    secret_sha256: bytes
    created_at: datetime
    revoked_at: datetime | None


def _row(record: asyncpg.Record) -> TokenRow:
    return TokenRow(**dict(record))


class TokenStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def insert(self, token_id: str, name: str, role: str, digest: bytes) -> TokenRow | None:
        """A new token; None if a live token already has ``name``."""
        async with translate():
            try:
                record = await self.pool.fetchrow(Q["insert_api_token"], token_id, name, role, digest)
            except asyncpg.UniqueViolationError:
                return None
        return _row(record)

    async def register(self, token_id: str, name: str, role: str, digest: bytes) -> bool:
        """Record a token unless its id (or a live token's name) is already known; True if
        it was recorded now."""
        async with translate():
            record = await self.pool.fetchrow(Q["register_api_token"], token_id, name, role, digest)
        return record is not None

    async def get(self, token_id: str) -> TokenRow | None:
        async with translate():
            record = await self.pool.fetchrow(Q["get_api_token"], token_id)
        return None if record is None else _row(record)

    async def revoke(self, id_or_name: str) -> TokenRow | None:
        """Revoke the live token with this id or name; None if there is none."""
        async with translate():
            record = await self.pool.fetchrow(Q["revoke_api_token"], id_or_name)
        return None if record is None else _row(record)

    async def all(self) -> list[TokenRow]:
        async with translate():
            records = await self.pool.fetch(Q["list_api_tokens"])
        return [_row(r) for r in records]
