"""Revocations on a real database: a revoke heard by NOTIFY ends the token's streams; one made
while the daemon was not listening (its connection lost) ends them once it listens again."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import asyncpg
import pytest

from hodeid.control.apitokens import ApiTokens, Caller
from hodeid.control.revocations import Revocations, TokenRevoked
from hodeid.domain.access import Role
from hodeid.store.listen import TOKEN_CHANNEL, listen
from hodeid.store.tokens import TokenStore

DEADLINE = 10.0


async def forever() -> None:
    await asyncio.Event().wait()


async def opened(revocations: Revocations, caller: Caller) -> asyncio.Task[None]:
    """A stream of ``caller`` that would last for ever, running."""
    stream = asyncio.create_task(revocations.stream(caller, forever()))
    await asyncio.sleep(0)  # let it file itself under its token
    return stream


async def test_a_revoke_ends_only_that_tokens_streams(pool: asyncpg.Pool) -> None:
    tokens = ApiTokens(TokenStore(pool))
    listening = asyncio.Event()

    async def listen_noting_it(heard: Callable[[str], None], started: Callable[[], None]) -> None:
        def started_here() -> None:
            started()
            listening.set()

        await listen(pool, TOKEN_CHANNEL, heard, started_here)

    revocations = Revocations(tokens.store, listen_noting_it, tokens.cache)
    (ci, _), (other, _) = await tokens.create("ci", Role.READ), await tokens.create("other", Role.READ)
    run = asyncio.create_task(revocations.run())
    try:
        ci_stream = await opened(revocations, Caller(ci.id, ci.name, Role.READ))
        other_stream = await opened(revocations, Caller(other.id, other.name, Role.READ))
        async with asyncio.timeout(DEADLINE):
            await listening.wait()
        await tokens.revoke("ci")
        with pytest.raises(TokenRevoked, match=r"token ci \(.*\) was revoked"):
            async with asyncio.timeout(DEADLINE):
                await ci_stream
        assert not other_stream.done()
        other_stream.cancel()
    finally:
        run.cancel()


async def test_a_revoke_made_while_not_listening_ends_the_streams_on_listening_again(
    pool: asyncpg.Pool,
) -> None:
    tokens = ApiTokens(TokenStore(pool))
    revoked = asyncio.Event()
    calls = 0

    async def listen_after_a_gap(heard: Callable[[str], None], started: Callable[[], None]) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            # The connection is lost before LISTEN: the revoke below is announced to nobody.
            await revoked.wait()
            return
        await listen(pool, TOKEN_CHANNEL, heard, started)

    revocations = Revocations(tokens.store, listen_after_a_gap, tokens.cache)
    row, _ = await tokens.create("ci", Role.READ)
    stream = await opened(revocations, Caller(row.id, row.name, Role.READ))
    run = asyncio.create_task(revocations.run())
    try:
        await tokens.revoke("ci")
        revoked.set()
        with pytest.raises(TokenRevoked):
            async with asyncio.timeout(DEADLINE):
                await stream
        assert calls == 2
    finally:
        run.cancel()
