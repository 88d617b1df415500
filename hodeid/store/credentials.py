"""Worker credentials in PostgreSQL: the sha256 of the secret bound to each worker id."""

from __future__ import annotations

import asyncpg

from hodeid.store.db import translate
from hodeid.store.queries import Q


class CredentialStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def claim(self, worker_id: str, digest: bytes) -> bool:
        """Bind ``worker_id`` to ``digest`` unless it has a credential already; True if bound
        now. Of two daemons (or streams) claiming a fresh id at once, exactly one gets True."""
        async with translate():
            bound = await self.pool.fetchval(Q["insert_worker_credential"], worker_id, digest)
        return bound is not None

    async def get(self, worker_id: str) -> bytes | None:
        """The digest bound to ``worker_id``, or None if it has none."""
        async with translate():
            digest: bytes | None = await self.pool.fetchval(Q["get_worker_credential"], worker_id)
        return digest

    async def forget(self, worker_id: str) -> bool:
        """Release ``worker_id``: the next worker joining under it binds it to its own credential.
        False if it had none."""
        async with translate():
            forgotten = await self.pool.fetchval(Q["delete_worker_credential"], worker_id)
        return forgotten is not None
