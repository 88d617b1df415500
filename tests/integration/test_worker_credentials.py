"""Per-worker credentials on a real Daemon and database: the first Hello under an id gets one,
and from then on only a Hello presenting it may claim the id."""

from __future__ import annotations

import asyncio
import hashlib
import logging

import asyncpg
import pytest
from grpclib.const import Status
from grpclib.exceptions import GRPCError

from hodei_api import v1
from hodeid.control.credentials import PREFIX, CredentialRefused, WorkerCredentials
from hodeid.control.daemon import Daemon
from hodeid.metrics import REGISTRY
from hodeid.store.credentials import CredentialStore
from tests.support.scripted_worker import ScriptedWorker


def refusals() -> float:
    return REGISTRY.get_sample_value("hodei_worker_refusals_total", {"reason": "credential"}) or 0.0


async def refused(stub: v1.WorkerServiceStub, worker_id: str, credential: str = "") -> str:
    """The message of the UNAUTHENTICATED refusal a Hello with ``credential`` gets."""
    impostor = ScriptedWorker(stub, worker_id)
    impostor.hello.credential = credential
    with pytest.raises(GRPCError) as caught:
        await impostor.next("welcome")
    assert caught.value.status is Status.UNAUTHENTICATED, caught.value
    return caught.value.message or ""


async def test_only_the_credential_from_the_first_welcome_claims_the_id_again(
    channel: object, daemon: Daemon, pool: asyncpg.Pool, caplog: pytest.LogCaptureFixture
) -> None:
    stub = v1.WorkerServiceStub(channel)  # type: ignore[arg-type]
    real = ScriptedWorker(stub, "hand-1")
    await real.next("welcome")
    assert real.credential.startswith(PREFIX)
    stored = await pool.fetchval("SELECT secret_sha256 FROM worker_credentials WHERE worker_id = 'hand-1'")
    assert stored == hashlib.sha256(real.credential.encode()).digest()  # the hash, never the secret
    session = daemon.registry.get("hand-1")

    before = refusals()
    missing = await refused(stub, "hand-1")
    assert "presents none" in missing and "--state-dir" in missing and "--id" in missing
    assert "hodeid worker forget hand-1" in missing
    wrong = await refused(stub, "hand-1", PREFIX + "guess")
    assert "not this id's" in wrong
    assert refusals() == before + 2
    assert caplog.text.count("worker stream refused for id 'hand-1'") == 2
    # The real worker's stream carries on untouched.
    assert daemon.registry.get("hand-1") is session and session is not None and not session.closed
    await real.next("heartbeat")

    again = ScriptedWorker(stub, "hand-1")
    again.hello.credential = real.credential
    welcome = (await again.next("welcome")).welcome
    assert welcome is not None and welcome.credential == ""  # the same credential goes on
    assert session.closed  # the worker's own new stream replaces its old one
    again.close()
    real.close()


async def test_fresh_ids_at_once_exactly_one_claim_wins(pool: asyncpg.Pool) -> None:
    credentials = WorkerCredentials(CredentialStore(pool))
    hello = v1.Hello(worker_id="fresh", slots=1)
    results = await asyncio.gather(
        *(credentials.admit(hello, connected=False) for _ in range(5)), return_exceptions=True
    )
    won = [r for r in results if isinstance(r, str)]
    assert len(won) == 1 and won[0].startswith(PREFIX), results
    assert all(isinstance(r, CredentialRefused) for r in results if not isinstance(r, str))
    winner = v1.Hello(worker_id="fresh", slots=1, credential=won[0])
    assert await credentials.admit(winner, connected=False) == ""


async def test_two_streams_for_a_fresh_id_at_once_one_is_refused(channel: object) -> None:
    stub = v1.WorkerServiceStub(channel)  # type: ignore[arg-type]
    first, second = ScriptedWorker(stub, "twin"), ScriptedWorker(stub, "twin")
    results = await asyncio.gather(first.next("welcome"), second.next("welcome"), return_exceptions=True)
    assert sorted(type(r).__name__ for r in results) == ["DaemonMessage", "GRPCError"], results
    first.close()
    second.close()


async def test_forget_releases_the_id_but_not_while_it_is_connected(
    channel: object, daemon: Daemon, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    stub = v1.WorkerServiceStub(channel)  # type: ignore[arg-type]
    credentials = daemon.sessions.credentials
    real = ScriptedWorker(stub, "hand-2")
    await real.next("welcome")
    assert await credentials.forget("hand-2")
    assert not await credentials.forget("hand-2")
    # Released while connected: a newcomer still may not take the live stream over.
    assert "is connected" in await refused(stub, "hand-2")
    real.close()
    async with asyncio.timeout(5):
        while (s := daemon.registry.get("hand-2")) is not None and not s.closed:
            await asyncio.sleep(0.02)
    newcomer = ScriptedWorker(stub, "hand-2")
    await newcomer.next("welcome")
    assert newcomer.credential.startswith(PREFIX) and newcomer.credential != real.credential
    newcomer.close()
    assert "not this id's" in await refused(stub, "hand-2", real.credential)
