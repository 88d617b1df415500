"""Several daemons on one database, over real gRPC: a call moves on from a daemon that cannot
be reached and stays with the one that answered; an answer, a refusal included, is final; a
followed log resumes on the next daemon after the last line shown."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from grpclib.const import Status
from grpclib.exceptions import GRPCError, ProtocolError, StreamTerminatedError

from hodei_api import v1
from hodei_api.client import NotHodeid, TlsMismatch
from hodei_tui.backend import ROUND_PAUSES, CallFailure, connect, moves_on
from hodei_tui.cli.follow import follow_log
from hodei_tui.errors import DaemonUnreachable, RequestRefused
from tests.support.scripted_daemon import Link, LogScript, Script, serving

from .test_follow import RUNNING, Collected, numbered, quick

DEADLINE = 30.0


@pytest.mark.parametrize(
    ("exc", "moves"),
    [
        (GRPCError(Status.UNAVAILABLE, "shutting down"), True),
        (ConnectionRefusedError(111, "Connection refused"), True),
        (TimeoutError(), True),
        (StreamTerminatedError("Connection lost"), True),
        (ProtocolError("Connection lost"), True),
        (NotHodeid("127.0.0.1:1 does not answer as hodeid"), True),
        (TlsMismatch("hodeid at 127.0.0.1:1 ... it serves TLS"), True),
        (GRPCError(Status.INVALID_ARGUMENT, "bad selector"), False),
        (GRPCError(Status.NOT_FOUND, "job x not found"), False),
        (GRPCError(Status.UNAUTHENTICATED, "bad token"), False),
        (GRPCError(Status.PERMISSION_DENIED, "read token"), False),
        (GRPCError(Status.RESOURCE_EXHAUSTED, "too many pending"), False),
        (GRPCError(Status.FAILED_PRECONDITION, "not finished"), False),
        (GRPCError(Status.UNIMPLEMENTED), False),
        (GRPCError(Status.INTERNAL), False),
    ],
)
def test_which_failures_move_on(exc: CallFailure, moves: bool) -> None:
    assert moves_on(exc) is moves


def dead_port() -> int:
    """A loopback port nothing listens on: connections to it are refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def not_hodeid() -> AsyncIterator[int]:
    """A port that answers as another service would (Redis to an HTTP/2 preface)."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1)
        writer.write(b"-ERR unknown command 'PRI'\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


async def test_a_call_moves_on_and_stays_with_the_daemon_that_answered() -> None:
    a, b = Script(jobs={"job-1": RUNNING}), Script(jobs={"job-1": RUNNING})
    async with serving(a) as port_a, serving(b) as port_b:
        link = Link(port_a)
        await link.up()
        await link.down()  # daemon A is gone
        async with connect(f"127.0.0.1:{link.port},127.0.0.1:{port_b}") as backend:
            await backend.list_jobs([], 0)
            assert backend.addr == f"127.0.0.1:{port_b}"
            await link.up()  # A is back; B answered last, so B is asked
            await backend.list_jobs([], 0)
        await link.down()
    assert (len(a.list_requests), len(b.list_requests)) == (0, 2)


async def test_a_peer_that_is_not_hodeid_is_passed_over() -> None:
    b = Script(jobs={"job-1": RUNNING})
    async with not_hodeid() as port_a, serving(b) as port_b:
        async with connect(f"127.0.0.1:{port_a},127.0.0.1:{port_b}") as backend:
            job = await backend.get_job("job-1")
    assert job.id == "job-1"


async def test_a_refusal_is_an_answer() -> None:
    # Daemon A does not know the job (say its database is another one): its NOT_FOUND is final.
    a, b = Script(), Script(jobs={"job-1": RUNNING})
    async with serving(a) as port_a, serving(b) as port_b:
        async with connect(f"127.0.0.1:{port_a},127.0.0.1:{port_b}") as backend:
            with pytest.raises(RequestRefused, match=r"^job job-1 not found$"):
                await backend.cancel_job("job-1")
            assert backend.addr == f"127.0.0.1:{port_a}"
    assert (len(a.cancel_requests), len(b.cancel_requests)) == (1, 0)


async def test_when_no_daemon_answers_each_address_is_named() -> None:
    dead = dead_port()
    async with not_hodeid() as impostor, connect(f"127.0.0.1:{dead},127.0.0.1:{impostor}") as backend:
        with pytest.raises(DaemonUnreachable) as raised:
            await backend.get_job("job-1")
    assert str(raised.value) == (
        f"cannot reach hodeid at any of its 2 addresses (127.0.0.1:{dead}: connection refused; "
        f"127.0.0.1:{impostor}: 127.0.0.1:{impostor} does not answer as hodeid (no HTTP/2; it began "
        "b'-ERR unkn'): is --addr/HODEI_ADDR hodeid's gRPC port (50051 by default)? (nothing secret "
        "was sent)); start one with 'hodeid' or point --addr/HODEI_ADDR at running daemons"
    )


async def test_a_call_no_daemon_took_is_tried_on_them_all_again_after_a_pause() -> None:
    """Daemons restarted in turn: at the first try one is not back yet and the other is going
    down; the next round finds one serving."""
    a, b = Script(jobs={"job-1": RUNNING}, unavailable=1), Script(jobs={"job-1": RUNNING}, unavailable=1)
    async with serving(a) as port_a, serving(b) as port_b:
        async with connect(f"127.0.0.1:{port_a},127.0.0.1:{port_b}") as backend:
            assert (await backend.get_job("job-1")).id == RUNNING.id
    assert (a.get_requests, b.get_requests) == (2, 1)


async def test_daemons_that_stay_away_are_tried_a_few_rounds_then_named() -> None:
    a, b = Script(unavailable=10), Script(unavailable=10)
    async with serving(a) as port_a, serving(b) as port_b:
        async with connect(f"127.0.0.1:{port_a},127.0.0.1:{port_b}") as backend:
            with pytest.raises(DaemonUnreachable, match=r"^cannot reach hodeid at any of its 2 addresses"):
                await backend.get_job("job-1")
    assert (a.get_requests, b.get_requests) == (len(ROUND_PAUSES) + 1,) * 2


async def test_one_address_fails_as_before() -> None:
    dead = dead_port()
    async with connect(f"127.0.0.1:{dead}") as backend:
        with pytest.raises(DaemonUnreachable) as raised:
            await backend.get_job("job-1")
    assert str(raised.value).startswith(f"cannot reach hodeid at 127.0.0.1:{dead} (connection refused);")


async def test_a_submit_to_several_daemons_carries_a_key_of_its_own() -> None:
    # A daemon may die after queueing the job and before answering: the repeat on the next one
    # must find that job, not queue another.
    a = Script()
    spec = v1.JobSpec(command=["true"])
    async with serving(a) as port_a:
        async with connect(f"127.0.0.1:{dead_port()},127.0.0.1:{port_a}") as backend:
            first = await backend.submit_job(spec)
            await backend.submit_job(spec)
            await backend.submit_job(v1.JobSpec(command=["true"], idempotency_key="mine"))
        async with connect(f"127.0.0.1:{port_a}") as backend:
            await backend.submit_job(spec)
    keys = [submitted.idempotency_key for submitted in a.submitted]
    assert keys[0].startswith("hodei-") and keys[1].startswith("hodei-") and keys[0] != keys[1]
    assert keys[2:] == ["mine", ""]
    assert spec.idempotency_key == "", "the caller's spec is left as it was"
    assert not first.existing


async def wait_seqs(sink: Collected, count: int) -> None:
    async with asyncio.timeout(DEADLINE):
        while len(sink.seqs) < count:
            await asyncio.sleep(0.01)


@pytest.mark.parametrize("how", ["killed", "unavailable"])
async def test_a_follower_resumes_on_the_next_daemon(how: str) -> None:
    a = Script(jobs={"job-1": RUNNING}, logs=[LogScript([numbered(1), numbered(2)], then="hang")])
    if how == "unavailable":
        a.logs = [LogScript([numbered(1), numbered(2)], then="unavailable")]
    # B may replay a line the follower has; it is shown once.
    b = Script(
        jobs={"job-1": RUNNING},
        logs=[LogScript([numbered(2, 3), numbered(4, final=v1.JobState.SUCCEEDED)])],
    )
    sink = Collected()
    async with serving(a) as port_a, serving(b) as port_b:
        link = Link(port_a)
        await link.up()
        async with connect(f"127.0.0.1:{link.port},127.0.0.1:{port_b}") as backend:
            following = asyncio.create_task(follow_log(backend, "job-1", sink, backoff=quick()))
            await wait_seqs(sink, 2)
            if how == "killed":
                await link.down()
            assert await asyncio.wait_for(following, DEADLINE) == v1.JobState.SUCCEEDED
            assert backend.addr == f"127.0.0.1:{port_b}"
        await link.down()
    assert sink.seqs == [1, 2, 3, 4]
    assert [request.after_seq for request in a.log_requests] == [0]
    assert [request.after_seq for request in b.log_requests] == [2]


async def test_a_follower_gives_up_naming_every_daemon() -> None:
    a = Script(jobs={"job-1": RUNNING}, logs=[LogScript([numbered(1)], then="hang")])
    dead = dead_port()
    async with serving(a) as port_a:
        link = Link(port_a)
        await link.up()
        async with connect(f"127.0.0.1:{link.port},127.0.0.1:{dead}") as backend:
            following = asyncio.create_task(
                follow_log(backend, "job-1", Collected(), give_up_after=0.2, backoff=quick())
            )
            await a.streaming.wait()
            await link.down()
            with pytest.raises(DaemonUnreachable) as raised:
                await asyncio.wait_for(following, DEADLINE)
    assert str(raised.value).startswith(
        f"lost hodeid at 127.0.0.1:{link.port}, 127.0.0.1:{dead} for 0.2 s while following job job-1;"
    )
