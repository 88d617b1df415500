"""Per-worker credentials: what proves a worker that joined with the cluster token is the
worker its id belongs to. ``WorkerCredentials.admit`` is the one check point.

The first Hello under an id that has no credential gets one in its Welcome; the database keeps
only its sha256, so every daemon sharing it knows the binding. From then on only a Hello that
presents that credential may claim the id, until an operator releases it
(``hodeid worker forget ID``). Provisioned workers prove their id with their provider's
one-time and resume tokens instead (``hodeid.control.tokens``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from hodei_api import v1
from hodeid.errors import Unauthenticated
from hodeid.store.credentials import CredentialStore

PREFIX = "hodei-wc-"


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

    async def admit(self, hello: v1.Hello, *, connected: bool) -> str:
        """Let ``hello`` claim its worker id or raise ``CredentialRefused``. Returns the new
        credential when the id had none (else an empty string). ``connected``: a stream of
        this id is live here, so only its credential may open another."""
        worker_id = hello.worker_id
        digest = await self.store.get(worker_id)
        if digest is not None:
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
            return ""
        if connected:
            # Its credential was released while it is connected: a newcomer may not take over.
            raise CredentialRefused(
                f"worker id {worker_id!r} is connected; a second stream must present its credential; "
                f"{_what_to_do(worker_id)}"
            )
        credential = PREFIX + secrets.token_urlsafe(32)
        if not await self.store.claim(worker_id, _digest(credential)):
            raise CredentialRefused(
                f"worker id {worker_id!r} was claimed by another worker at the same moment; "
                f"{_what_to_do(worker_id)}"
            )
        return credential

    async def forget(self, worker_id: str) -> bool:
        """Release ``worker_id``; False if it had no credential."""
        return await self.store.forget(worker_id)
