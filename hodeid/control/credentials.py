"""Per-worker credentials: what proves a worker that joined with the cluster token is the
worker its id belongs to. ``WorkerCredentials.admit`` is the one check point.

The worker makes its credential and keeps it before its first Hello (``hodei_api.worker_identity``).
The first Hello under an id that has none binds the id to the credential it presents; the
database keeps only its sha256, so every daemon sharing it knows the binding. From then on only
a Hello that presents that credential may claim the id, until an operator releases it
(``hodeid worker forget ID``). Since the daemon issues nothing, a claim is idempotent: a worker
whose stream was cut before its Welcome arrived presents the same credential again and is let
in. Provisioned workers prove their id with their provider's one-time and resume tokens instead
(``hodeid.control.tokens``).
"""

from __future__ import annotations

import hashlib
import hmac

from hodei_api import v1
from hodei_api.worker_identity import credential_problem
from hodeid.errors import Unauthenticated
from hodeid.store.credentials import CredentialStore


def _digest(credential: str) -> bytes:
    return hashlib.sha256(credential.encode()).digest()


class CredentialRefused(Unauthenticated):
    """The worker id is bound to a credential this Hello does not present."""


def _what_to_do(worker_id: str) -> str:
    return (
        "start the worker with its own state directory (--state-dir, which holds its credential "
        f"file), choose another --id, or have an operator release the id ('hodeid worker forget {worker_id}')"
    )


class WorkerCredentials:
    def __init__(self, store: CredentialStore) -> None:
        self.store = store

    async def admit(self, hello: v1.Hello, *, connected: bool) -> None:
        """Let ``hello`` claim its worker id or raise ``CredentialRefused``. An id with no
        credential is bound to the one presented, if it is fit. ``connected``: a stream of
        this id is live here, so only its credential may open another."""
        worker_id = hello.worker_id
        digest = await self.store.get(worker_id)
        if digest is None:
            digest = await self._claim(hello, connected=connected)
            if digest is None:
                return
        if not hello.credential:
            raise CredentialRefused(
                f"worker id {worker_id!r} belongs to a worker that holds its credential, and this "
                f"Hello presents none; {_what_to_do(worker_id)}"
            )
        if not hmac.compare_digest(digest, _digest(hello.credential)):
            raise CredentialRefused(
                f"worker id {worker_id!r}: the credential presented is not this id's; "
                f"{_what_to_do(worker_id)}"
            )

    async def _claim(self, hello: v1.Hello, *, connected: bool) -> bytes | None:
        """Bind the fresh id of ``hello`` to its credential: None once bound, else the digest
        another Hello bound it to at the same moment, for ``admit`` to compare."""
        worker_id = hello.worker_id
        if (problem := credential_problem(hello.credential)) is not None:
            raise CredentialRefused(
                f"worker {worker_id!r} joins with the cluster token, but {problem}; a hodei-worker "
                "of this daemon's version makes its credential in its state directory before it "
                "connects: upgrade hodei-worker"
            )
        if connected:
            # Its credential was released while it is connected: a newcomer may not take over.
            raise CredentialRefused(
                f"worker id {worker_id!r} is connected; a second stream must present its credential; "
                f"{_what_to_do(worker_id)}"
            )
        if await self.store.claim(worker_id, _digest(hello.credential)):
            return None
        digest = await self.store.get(worker_id)
        if digest is None:
            raise CredentialRefused(
                f"worker id {worker_id!r} was claimed and released at the same moment; connect again"
            )
        return digest

    async def forget(self, worker_id: str) -> bool:
        """Release ``worker_id``; False if it had no credential."""
        return await self.store.forget(worker_id)
