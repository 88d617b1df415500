"""``hodeid worker forget ID``: release a worker id's credential, on the daemon's database."""

from __future__ import annotations

import sys

import asyncpg

from hodeid.control.credentials import WorkerCredentials
from hodeid.errors import NotFound
from hodeid.store.credentials import CredentialStore


async def forget(pool: asyncpg.Pool, worker_id: str) -> None:
    """Delete ``worker_id``'s credential: the next worker that joins under the id with the
    cluster token binds it to its own (the old holder is refused from its next Hello)."""
    if not await WorkerCredentials(CredentialStore(pool)).forget(worker_id):
        raise NotFound(
            f"worker id {worker_id!r} has no credential (it never joined with the cluster token, "
            "or was forgotten already); nothing to do"
        )
    sys.stdout.write(
        f"forgot the credential of worker {worker_id!r}; the next worker to join as it binds it to its own\n"
    )
