"""A worker given several daemons (``--server A,B,C``) moves on to the next one when it loses
its stream or cannot reach or talk to a daemon, and takes its attempts and reports along."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from pydantic import ValidationError

from hodei_api import v1
from hodei_api.backoff import Backoff
from hodei_worker.agent import Agent
from hodei_worker.config import WorkerSettings, describe
from hodei_worker.servers import Servers, server_list
from tests.integration.test_worker_agent import connected, run_job
from tests.support.fake_daemon import FakeDaemon, free_port, serve, settings
from tests.support.impostor import impostor


class Slowest(random.Random):
    """Every backoff delay at its ceiling, so a test sees whether the worker waited."""

    def uniform(self, a: float, b: float) -> float:
        return b


def patient(server: str) -> Agent:
    """An agent whose backoff waits a minute: anything connected within seconds was not
    backed off."""
    return Agent(settings(server), backoff=Backoff(base=60, cap=60, rng=Slowest()), hostname="host-1")


@asynccontextmanager
async def two_daemons() -> AsyncIterator[tuple[FakeDaemon, FakeDaemon]]:
    async with serve() as a, serve() as b:
        yield a, b


@pytest.mark.parametrize(
    ("text", "addrs"),
    [
        ("a:1", ["a:1"]),
        ("a:1,b:2, c:3", ["a:1", "b:2", "c:3"]),
        ("a:1,b:2,a:1", ["a:1", "b:2"]),
        ("[::1]:9,a:1", ["[::1]:9", "a:1"]),
    ],
)
def test_a_server_list_in_order_without_repeats(text: str, addrs: list[str]) -> None:
    assert server_list(text) == addrs
    assert settings(text).servers == addrs


def test_the_environment_takes_a_list_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HODEI_ADDR", "a:1,b:2")
    assert WorkerSettings().servers == ["a:1", "b:2"]


def test_a_bad_entry_is_named() -> None:
    with pytest.raises(ValidationError) as caught:
        WorkerSettings(server="a:1,nonsense")
    assert describe(caught.value) == (
        "--server / HODEI_ADDR: daemon address 'nonsense' is not HOST:PORT (for example 127.0.0.1:50051)"
    )


def test_failures_move_on_and_back_off_once_a_round_has_failed() -> None:
    servers = Servers(["a:1", "b:2", "c:3"])
    assert servers.current == "a:1"
    # Unreachable ones are skipped over at once, until every address has failed in a row.
    assert [servers.failed(welcomed=False) for _ in range(6)] == [False, False, True] * 2
    assert servers.current == "a:1"
    # A welcomed stream that is lost: on to the next, after the backoff's jitter; the round
    # of failures starts over.
    assert servers.failed(welcomed=True) is True
    assert servers.current == "b:2"
    assert [servers.failed(welcomed=False) for _ in range(3)] == [False, False, True]


def test_one_address_backs_off_after_each_failure() -> None:
    servers = Servers(["a:1"])
    assert [servers.failed(welcomed=False) for _ in range(3)] == [True, True, True]
    assert servers.current == "a:1"


async def test_an_unreachable_daemon_is_skipped_without_waiting(caplog: pytest.LogCaptureFixture) -> None:
    dead = f"127.0.0.1:{free_port()}"
    async with serve() as daemon, patient(f"{dead},{daemon.addr}"):
        _, hello = await connected(daemon)
        assert hello.worker_id == "w-test"
    assert f"cannot reach {dead}: Connection refused; trying {daemon.addr}" in caplog.text


async def test_an_address_that_is_not_hodeid_is_named_and_skipped(caplog: pytest.LogCaptureFixture) -> None:
    with impostor(b"-ERR unknown command 'PRI'\r\n") as (port, _):
        async with serve() as daemon, patient(f"127.0.0.1:{port},{daemon.addr}"):
            await connected(daemon)
    assert f"127.0.0.1:{port} does not answer as hodeid (no HTTP/2" in caplog.text
    assert f"trying {daemon.addr}" in caplog.text


async def test_a_lost_stream_moves_to_the_next_daemon_with_its_attempts_and_reports() -> None:
    async with two_daemons() as (a, b):
        a.acknowledges = False  # A receives the job's reports but dies before storing them
        agent = Agent(settings(f"{a.addr},{b.addr}"), backoff=Backoff(base=0.05, cap=0.2))
        async with agent:
            first, _ = await connected(a)
            first.send(run_job=run_job("job-1", "sh", "-c", "echo one; sleep 0.5; echo two"))
            accepted: v1.Accepted = await first.next("accepted")
            await first.next("log_batch")
            first.hang_up()
            second = await b.next_stream()
            hello: v1.Hello = await second.next("hello")
            assert [(r.job_id, r.attempt) for r in hello.running] == [("job-1", 1)]
            second.welcome()
            assert await second.next("accepted") == accepted
            lines, finished = await second.until_finished()
            assert [line.data for line in lines] == [b"one\n", b"two\n"]
            assert finished.exit_code == 0
            assert a.streams.empty()
