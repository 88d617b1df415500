"""JoinTokens.admit, the one check point for who may open a worker stream, on PostgreSQL: a
token issued through one daemon's JoinTokens is admitted by another's on the same database,
consumed once even when two daemons see it at once, expires by the database's clock, and dies
with its worker."""

from __future__ import annotations

import asyncio
import hashlib

import asyncpg
import pytest

from hodei_api import v1
from hodei_api.worker_identity import ONE_TIME_PREFIX, RESUME_PREFIX
from hodeid.control.tokens import JoinTokens, digest
from hodeid.errors import Unauthenticated
from tests.support.database import age_join_tokens


def hello(worker_id: str, token: str) -> v1.Hello:
    return v1.Hello(worker_id=worker_id, slots=1, token=token)


@pytest.fixture
def a(pool: asyncpg.Pool) -> JoinTokens:
    """Daemon A's tokens."""
    return JoinTokens(pool, ttl_seconds=300, cluster_token="cluster")


@pytest.fixture
def b(pool: asyncpg.Pool) -> JoinTokens:
    """Daemon B's tokens, on the same database."""
    return JoinTokens(pool, ttl_seconds=300, cluster_token="cluster")


async def test_a_token_issued_by_one_daemon_admits_its_worker_on_another(
    a: JoinTokens, b: JoinTokens
) -> None:
    token = await a.issue("local-1")
    assert token.startswith(ONE_TIME_PREFIX)
    resume = await b.admit(hello("local-1", token))
    assert resume.startswith(RESUME_PREFIX)
    assert b.consumed(digest(token))
    # The resume token lets the worker back in anywhere, as often as its stream drops.
    for tokens in (a, b, a):
        assert await tokens.admit(hello("local-1", resume)) == ""
    with pytest.raises(Unauthenticated, match="resume token is not valid"):
        await a.admit(hello("local-2", resume))


async def test_only_hashes_are_stored(pool: asyncpg.Pool, a: JoinTokens) -> None:
    token = await a.issue("local-1")
    resume = await a.admit(hello("local-1", token))
    [row] = await pool.fetch("SELECT * FROM join_tokens")
    assert row["token_sha256"] == hashlib.sha256(token.encode()).digest()
    assert row["resume_sha256"] == hashlib.sha256(resume.encode()).digest()
    assert token.encode() not in repr(dict(row)).encode() and resume not in repr(dict(row))


async def test_two_daemons_racing_for_one_token_admit_the_worker_once(a: JoinTokens, b: JoinTokens) -> None:
    for n in range(20):
        token = await a.issue(f"local-{n}")
        results = await asyncio.gather(
            a.admit(hello(f"local-{n}", token)), b.admit(hello(f"local-{n}", token)), return_exceptions=True
        )
        admitted = [r for r in results if isinstance(r, str)]
        [refused] = [r for r in results if isinstance(r, Unauthenticated)]
        assert len(admitted) == 1 and admitted[0].startswith(RESUME_PREFIX)
        assert (
            refused.message
            == f"worker local-{n}: join token was already used; each one admits one worker once"
        )


async def test_a_used_token_is_refused_to_anyone(a: JoinTokens, b: JoinTokens) -> None:
    token = await a.issue("local-1")
    await a.admit(hello("local-1", token))
    for worker_id in ("local-1", "intruder"):
        with pytest.raises(Unauthenticated, match="already used"):
            await b.admit(hello(worker_id, token))


async def test_a_token_expires_by_the_database_clock(
    pool: asyncpg.Pool, a: JoinTokens, b: JoinTokens
) -> None:
    token = await a.issue("local-1")
    await age_join_tokens(pool, 299)
    fresh = await a.issue("local-2")
    await age_join_tokens(pool, 2)
    with pytest.raises(Unauthenticated) as refused:
        await b.admit(hello("local-1", token))
    assert refused.value.message == "worker local-1: join token expired 300 s after it was issued"
    assert (await b.admit(hello("local-2", fresh))).startswith(RESUME_PREFIX)


async def test_a_token_admits_only_the_worker_it_was_issued_to(a: JoinTokens, b: JoinTokens) -> None:
    token = await a.issue("local-1")
    with pytest.raises(Unauthenticated) as refused:
        await b.admit(hello("other", token))
    assert refused.value.message == "worker other: join token was issued to worker local-1"
    # Still unused: its own worker gets in.
    await b.admit(hello("local-1", token))


async def test_a_destroyed_worker_cannot_join_nor_resume(a: JoinTokens, b: JoinTokens) -> None:
    joined, unused = await a.issue("local-1"), await a.issue("local-2")
    resume = await a.admit(hello("local-1", joined))
    await a.revoke(digest(joined))
    await a.revoke(digest(unused))
    assert not a.consumed(digest(joined)), "a destroyed worker's token is forgotten"
    with pytest.raises(Unauthenticated, match="resume token is not valid"):
        await b.admit(hello("local-1", resume))
    with pytest.raises(Unauthenticated) as refused:
        await b.admit(hello("local-2", unused))
    assert (
        refused.value.message == "worker local-2: join token was revoked; its provider destroyed the worker"
    )


async def test_an_unknown_one_time_token_is_refused_never_taken_for_the_cluster_token(
    pool: asyncpg.Pool,
) -> None:
    tokens = JoinTokens(pool, cluster_token=None)
    with pytest.raises(Unauthenticated, match="join token is unknown to the daemons of this database"):
        await tokens.admit(hello("local-1", ONE_TIME_PREFIX + "forged"))


async def test_tokens_unused_long_ago_are_forgotten_but_a_joined_workers_id_stays_guarded(
    pool: asyncpg.Pool, a: JoinTokens, b: JoinTokens
) -> None:
    await a.admit(hello("local-1", await a.issue("local-1")))
    unused = await a.issue("local-2")
    await age_join_tokens(pool, 300 + 3600 + 1)
    await a.issue("local-3")  # issuing forgets old tokens
    with pytest.raises(Unauthenticated, match="belongs to a worker a provider created"):
        await b.admit(hello("local-1", "cluster"))
    with pytest.raises(Unauthenticated, match="unknown"):
        await b.admit(hello("local-2", unused))


@pytest.mark.parametrize(
    ("cluster", "presented", "admitted"),
    [
        (None, "", True),
        (None, "anything", True),
        ("s3cret", "s3cret", True),
        ("s3cret", "", False),
        ("s3cret", "wrong", False),
    ],
)
async def test_static_workers_need_the_cluster_token_when_one_is_set(
    pool: asyncpg.Pool, cluster: str | None, presented: str, admitted: bool
) -> None:
    tokens = JoinTokens(pool, cluster_token=cluster)
    if admitted:
        assert await tokens.admit(hello("static", presented)) == ""  # and no resume token
    else:
        with pytest.raises(Unauthenticated, match="set HODEI_JOIN_TOKEN"):
            await tokens.admit(hello("static", presented))


async def test_the_cluster_token_cannot_take_a_provisioned_workers_id(a: JoinTokens, b: JoinTokens) -> None:
    token = await a.issue("local-1")
    with pytest.raises(Unauthenticated, match="belongs to a worker a provider created"):
        await b.admit(hello("local-1", "cluster"))
    resume = await b.admit(hello("local-1", token))
    await a.admit(hello("local-1", resume))
    with pytest.raises(Unauthenticated, match="belongs to a worker a provider created"):
        await b.admit(hello("local-1", "cluster"))
    await a.revoke(digest(token))
    # Destroyed: the id is free again.
    assert await b.admit(hello("local-1", "cluster")) == ""


async def test_another_daemon_lists_the_workers_a_provider_created_that_are_not_destroyed(
    a: JoinTokens, b: JoinTokens
) -> None:
    joined, waiting = await a.issue("cloud-1", "cloud"), await a.issue("cloud-2", "cloud")
    destroyed = await a.issue("cloud-3", "cloud")
    await a.issue("local-1", "local")
    await a.issue("older-1")  # issued before tokens recorded their provider
    await a.admit(hello("cloud-1", joined))
    await a.revoke(digest(destroyed))
    found = [(m.worker_id, m.token_sha256, m.provider, m.joined) for m in await b.members(["cloud"])]
    assert found == [
        ("cloud-1", digest(joined), "cloud", True),
        ("cloud-2", digest(waiting), "cloud", False),
    ]
    # The digest is enough to revoke one, as the daemon that took it over does.
    await b.revoke(digest(waiting))
    assert [m.worker_id for m in await b.members(["cloud", "local"])] == ["cloud-1", "local-1"]
