"""The agent and its credential: presented in every Hello, and a refused Hello reported once
instead of retried."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from hodei_api import v1
from hodei_api.backoff import Backoff
from hodei_worker.agent import Agent
from hodei_worker.errors import Refused
from hodei_worker.state import StateDir
from tests.support.fake_daemon import FakeDaemon, serve, settings


@pytest.fixture
async def daemon() -> AsyncIterator[FakeDaemon]:
    async with serve() as daemon:
        yield daemon


def agent(daemon: FakeDaemon, state: StateDir, credential: str = "") -> Agent:
    return Agent(
        settings(daemon.addr), backoff=Backoff(base=0.05, cap=0.2), state=state, credential=credential
    )


async def test_the_credential_is_presented_in_every_hello(daemon: FakeDaemon, tmp_path: Path) -> None:
    state = StateDir(tmp_path / "state")
    credential = state.credential("w-test")
    async with agent(daemon, state, credential):
        stream = await daemon.next_stream()
        first: v1.Hello = await stream.next("hello")
        # Cut before any Welcome: the next Hello presents the same credential.
        stream.hang_up()
        again: v1.Hello = await (await daemon.next_stream()).next("hello")
        assert first.credential == again.credential == credential


async def test_a_refused_hello_ends_the_agent_saying_why_and_where_the_credential_is(
    daemon: FakeDaemon, tmp_path: Path
) -> None:
    daemon.refuses = "worker id 'w-test' belongs to a worker that holds its credential"
    state = StateDir(tmp_path / "state")
    with pytest.raises(Refused) as refused:
        await asyncio.wait_for(agent(daemon, state, credential="hodei-wc-old").run(), 10)
    where = tmp_path / "state" / "w-test.credential"
    assert str(refused.value) == (
        f"{daemon.addr} refused the stream: UNAUTHENTICATED worker id 'w-test' belongs to a worker "
        f"that holds its credential (this worker's credential file: {where})"
    )
    assert daemon.streams.qsize() == 1  # one try, not retried
    hello = (await daemon.next_stream()).log[0].hello
    assert hello is not None and hello.credential == "hodei-wc-old"
