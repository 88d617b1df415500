"""Join tokens: who may open a worker stream. The one check point is ``JoinTokens.admit``.

A provisioned worker gets a one-time token bound to its worker id; it expires, and the first
Hello that presents it consumes it. In exchange the worker gets a resume token, bound to the
same worker id, for reconnecting after a dropped stream; it lives as long as the worker (it is
revoked with the one-time token when the worker is destroyed). Other workers present the
cluster join token when one is configured.

Both kinds are kept in the database by their sha256 (``JoinTokenStore``), so any daemon
sharing it admits a provisioned worker, which may then fail over between them; expiry is
judged by the database's clock, and a token is consumed by one conditional UPDATE, so of two
daemons seeing it at once exactly one admits the worker.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence

import asyncpg

from hodei_api import v1
from hodei_api.worker_identity import ONE_TIME_PREFIX, RESUME_PREFIX
from hodeid.errors import Unauthenticated
from hodeid.store.join_tokens import JoinTokenStore, ProvisionedRow


def digest(token: str) -> bytes:
    """The sha256 a token is stored as."""
    return hashlib.sha256(token.encode()).digest()


class JoinTokens:
    """One-time tokens issued to provisioned workers, their resume tokens, and the cluster token."""

    def __init__(
        self, pool: asyncpg.Pool, ttl_seconds: float = 300.0, cluster_token: str | None = None
    ) -> None:
        self.store = JoinTokenStore(pool)
        self.ttl = ttl_seconds
        self.cluster_token = cluster_token
        # The digests of the tokens of the workers this daemon admitted and has not
        # destroyed, for ``consumed``.
        self._spent: set[bytes] = set()

    async def issue(self, worker_id: str, provider: str | None = None) -> str:
        """A new one-time token for the worker ``worker_id`` that ``provider`` is about to create."""
        token = ONE_TIME_PREFIX + secrets.token_urlsafe(24)
        await self.store.insert(digest(token), worker_id, self.ttl, provider)
        return token

    async def members(self, providers: Sequence[str]) -> list[ProvisionedRow]:
        """The workers ``providers`` created (on any daemon) that were not destroyed."""
        return await self.store.members(providers)

    async def revoke(self, token_digest: bytes) -> None:
        """The worker whose one-time token has this digest was destroyed: nobody may use its
        token, or its resume token, now (and this daemon need not remember it: the fleet asks
        only about the workers it keeps). The digest is enough, so a daemon that took the
        worker over from another also revokes it."""
        self._spent.discard(token_digest)
        await self.store.revoke(token_digest)

    def consumed(self, token_digest: bytes) -> bool:
        """Whether this daemon admitted a worker with the token of this digest. A provider's
        worker is given its daemon's address, so that is where it joins; the fleet asks in
        the moment between the Hello and the session's registration."""
        return token_digest in self._spent

    async def admit(self, hello: v1.Hello) -> str:
        """Let the worker in or raise ``Unauthenticated``. A one-time token is consumed and
        exchanged for the resume token returned (else the result is empty)."""
        token = hello.token
        if token.startswith(RESUME_PREFIX):
            if await self.store.resumed_worker(digest(token)) != hello.worker_id:
                raise Unauthenticated(
                    f"worker {hello.worker_id}: resume token is not valid; it admits only the worker "
                    "it was issued to, while the provider that created that worker keeps it"
                )
            return ""
        if token.startswith(ONE_TIME_PREFIX):
            # By its prefix, an unknown one is still refused as a one-time token and never
            # taken for the cluster token.
            return await self._consume(hello, token)
        if self.cluster_token and not hmac.compare_digest(token.encode(), self.cluster_token.encode()):
            raise Unauthenticated(
                f"worker {hello.worker_id}: wrong or missing join token; "
                "set HODEI_JOIN_TOKEN to the cluster's join token"
            )
        if await self.store.provisioned(hello.worker_id):
            # Else the cluster token would let anyone take over a provisioned worker's attempts.
            raise Unauthenticated(
                f"worker id {hello.worker_id} belongs to a worker a provider created; only its own "
                "token admits it (start other workers with other --id values)"
            )
        return ""

    async def _consume(self, hello: v1.Hello, token: str) -> str:
        resume = RESUME_PREFIX + secrets.token_urlsafe(24)
        if await self.store.consume(digest(token), hello.worker_id, digest(resume)):
            self._spent.add(digest(token))
            return resume
        row = await self.store.get(digest(token))
        if row is None:
            raise Unauthenticated(
                f"worker {hello.worker_id}: join token is unknown to the daemons of this database; "
                "a provisioned worker must use the token its provider was given"
            )
        if row.revoked:
            raise Unauthenticated(
                f"worker {hello.worker_id}: join token was revoked; its provider destroyed the worker"
            )
        if row.used:
            raise Unauthenticated(
                f"worker {hello.worker_id}: join token was already used; each one admits one worker once"
            )
        if row.expired:
            raise Unauthenticated(
                f"worker {hello.worker_id}: join token expired {row.ttl_seconds:g} s after it was issued"
            )
        raise Unauthenticated(f"worker {hello.worker_id}: join token was issued to worker {row.worker_id}")
