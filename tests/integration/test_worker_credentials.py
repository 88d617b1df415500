"""Per-worker credentials on a real Daemon and database: the first Hello under an id binds it to
the credential the worker made, and from then on only a Hello presenting it may claim the id,
also when the first stream died before its Welcome."""

from __future__ import annotations

import asyncio
import hashlib
import logging

import asyncpg
import pytest
from grpclib.client import Channel
from grpclib.const import Cardinality, Status
from grpclib.exceptions import GRPCError

from hodei_api import v1
from hodei_api.worker_identity import CREDENTIAL_PREFIX, new_credential
from hodei_worker.session import CONNECT
from hodeid.control.credentials import CredentialRefused, WorkerCredentials
from hodeid.control.daemon import Daemon
from hodeid.metrics import REGISTRY
from hodeid.store.credentials import CredentialStore
from tests.support.scripted_worker import ScriptedWorker


def refusals() -> float:
    return REGISTRY.get_sample_value("hodei_worker_refusals_total", {"reason": "credential"}) or 0.0


async def refused(stub: v1.WorkerServiceStub, worker_id: str, credential: str = "") -> str:
    """The message of the UNAUTHENTICATED refusal a Hello with ``credential`` gets."""
    impostor = ScriptedWorker(stub, worker_id)
    impostor.hello.credential = credential  # as given, even empty
    with pytest.raises(GRPCError) as caught:
        await impostor.next("welcome")
    assert caught.value.status is Status.UNAUTHENTICATED, caught.value
    return caught.value.message or ""


async def stored(pool: asyncpg.Pool, worker_id: str, timeout: float = 30.0) -> bytes:
    """The digest bound to ``worker_id``, once there is one."""
    async with asyncio.timeout(timeout):
        query = "SELECT secret_sha256 FROM worker_credentials WHERE worker_id = $1"
        while (digest := await pool.fetchval(query, worker_id)) is None:
            await asyncio.sleep(0.02)
    return bytes(digest)


async def test_only_the_credential_that_first_claimed_the_id_claims_it_again(
    channel: object, daemon: Daemon, pool: asyncpg.Pool, caplog: pytest.LogCaptureFixture
) -> None:
    stub = v1.WorkerServiceStub(channel)  # type: ignore[arg-type]
    real = ScriptedWorker(stub, "hand-1")
    await real.next("welcome")
    # The database keeps the hash, never the secret.
    assert await stored(pool, "hand-1") == hashlib.sha256(real.credential.encode()).digest()
    session = daemon.registry.get("hand-1")

    before = refusals()
    missing = await refused(stub, "hand-1")
    assert "presents none" in missing and "--state-dir" in missing and "--id" in missing
    assert "hodeid worker forget hand-1" in missing
    wrong = await refused(stub, "hand-1", new_credential())
    assert "not this id's" in wrong
    assert refusals() == before + 2
    assert caplog.text.count("worker stream refused for id 'hand-1'") == 2
    # The real worker's stream carries on untouched.
    assert daemon.registry.get("hand-1") is session and session is not None and not session.closed
    await real.next("heartbeat")

    again = ScriptedWorker(stub, "hand-1", credential=real.credential)
    await again.next("welcome")
    assert session.closed  # the worker's own new stream replaces its old one
    again.close()
    real.close()


async def test_a_worker_whose_welcome_was_lost_is_admitted_with_the_same_credential(
    channel: Channel, daemon: Daemon, pool: asyncpg.Pool
) -> None:
    credential = new_credential()
    hello = v1.Hello(worker_id="hand-3", slots=1, credential=credential)
    async with channel.request(CONNECT, Cardinality.STREAM_STREAM, v1.WorkerMessage, v1.DaemonMessage) as cut:
        await cut.send_message(v1.WorkerMessage(hello=hello))
        await stored(pool, "hand-3")
        # The daemon has bound the id; the stream dies before the worker reads a thing.
        await cut.cancel()
    stub = v1.WorkerServiceStub(channel)
    again = ScriptedWorker(stub, "hand-3", credential=credential)
    await again.next("welcome")
    assert await stored(pool, "hand-3") == hashlib.sha256(credential.encode()).digest()
    again.close()


@pytest.mark.parametrize(
    ("credential", "problem"),
    [
        ("", "it presents no credential"),
        (CREDENTIAL_PREFIX + "guessable", "is not 'hodei-wc-' followed by 43 to 128 url-safe characters"),
        ("x" * 60, "is not 'hodei-wc-' followed by"),
        (CREDENTIAL_PREFIX + "0123456789" * 5, "fewer than 16 different characters"),
    ],
)
async def test_a_fresh_id_is_not_bound_to_a_missing_or_guessable_credential(
    channel: object, pool: asyncpg.Pool, credential: str, problem: str
) -> None:
    stub = v1.WorkerServiceStub(channel)  # type: ignore[arg-type]
    message = await refused(stub, "fresh", credential)
    assert problem in message and "upgrade hodei-worker" in message, message
    assert await pool.fetchval("SELECT count(*) FROM worker_credentials") == 0


async def test_fresh_ids_at_once_exactly_one_claim_wins(pool: asyncpg.Pool) -> None:
    credentials = WorkerCredentials(CredentialStore(pool))
    hellos = [v1.Hello(worker_id="fresh", slots=1, credential=new_credential()) for _ in range(5)]
    results = await asyncio.gather(
        *(credentials.admit(hello, connected=False) for hello in hellos), return_exceptions=True
    )
    won = [hello for hello, result in zip(hellos, results, strict=True) if result is None]
    assert len(won) == 1, results
    assert all(isinstance(r, CredentialRefused) for r in results if r is not None)
    assert await stored(pool, "fresh") == hashlib.sha256(won[0].credential.encode()).digest()
    # The same worker claiming twice at once (a reconnection racing its first stream) gets in twice.
    twice = v1.Hello(worker_id="twice", slots=1, credential=new_credential())
    assert await asyncio.gather(*(credentials.admit(twice, connected=False) for _ in range(5))) == [None] * 5


async def test_two_streams_for_a_fresh_id_at_once_one_is_refused(channel: object) -> None:
    stub = v1.WorkerServiceStub(channel)  # type: ignore[arg-type]
    first, second = ScriptedWorker(stub, "twin"), ScriptedWorker(stub, "twin")
    results = await asyncio.gather(first.next("welcome"), second.next("welcome"), return_exceptions=True)
    assert sorted(type(r).__name__ for r in results) == ["DaemonMessage", "GRPCError"], results
    first.close()
    second.close()


async def test_forget_releases_the_id_but_not_while_it_is_connected(
    channel: object, daemon: Daemon, pool: asyncpg.Pool, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    stub = v1.WorkerServiceStub(channel)  # type: ignore[arg-type]
    credentials = daemon.sessions.credentials
    real = ScriptedWorker(stub, "hand-2")
    await real.next("welcome")
    assert await credentials.forget("hand-2")
    assert not await credentials.forget("hand-2")
    # Released while connected: a newcomer still may not take the live stream over.
    assert "is connected" in await refused(stub, "hand-2", new_credential())
    real.close()
    async with asyncio.timeout(30):
        while (s := daemon.registry.get("hand-2")) is not None and not s.closed:
            await asyncio.sleep(0.02)
    newcomer = ScriptedWorker(stub, "hand-2")
    await newcomer.next("welcome")
    assert await stored(pool, "hand-2") == hashlib.sha256(newcomer.credential.encode()).digest()
    newcomer.close()
    assert "not this id's" in await refused(stub, "hand-2", real.credential)
