"""Following a log across broken streams and a daemon that goes away, over real gRPC."""

from __future__ import annotations

import asyncio
import time

import pytest

from hodei_api import v1
from hodei_api.backoff import Backoff
from hodei_api.loglines import seq_numbers
from hodei_tui.backend import connect
from hodei_tui.cli.follow import follow_log
from hodei_tui.errors import DaemonUnreachable, RequestRefused
from tests.support.scripted_daemon import CREATED, Link, LogScript, Script, chunk, line, serving

OUT = v1.LogStream.STDOUT
RUNNING = v1.Job(id="job-1", spec=v1.JobSpec(command=["x"]), state=v1.JobState.RUNNING, created_at=CREATED)


class Collected:
    """A sink that keeps what it was given."""

    def __init__(self) -> None:
        self.seqs: list[int] = []
        self.received = asyncio.Event()

    def write(self, lines: v1.LogLines) -> None:
        self.seqs.extend(seq_numbers(lines))
        self.received.set()


def quick() -> Backoff:
    return Backoff(base=0.01, cap=0.05)


def numbered(*seqs: int, final: v1.JobState = v1.JobState.UNSPECIFIED) -> v1.LogChunk:
    return chunk(*(line(seq, OUT, b"%d\n" % seq) for seq in seqs), final_state=final)


@pytest.mark.parametrize("then", ["unavailable", "end"])
async def test_resumes_after_the_last_line_seen(then: str) -> None:
    script = Script(
        jobs={"job-1": RUNNING},
        logs=[
            LogScript([numbered(1), numbered(2)], then=then),
            # A daemon may replay a line the client already has; it is shown once.
            LogScript([numbered(2, 3, 0), numbered(4, final=v1.JobState.SUCCEEDED)]),
        ],
    )
    sink = Collected()
    async with serving(script) as port, connect(f"127.0.0.1:{port}") as backend:
        final = await follow_log(backend, "job-1", sink, backoff=quick())
    assert final == v1.JobState.SUCCEEDED
    # seq 0 is a line without a sequence number: never taken for a replay.
    assert sink.seqs == [1, 2, 3, 0, 4]
    assert [request.after_seq for request in script.log_requests] == [0, 2]


async def test_reconnects_to_a_daemon_that_came_back() -> None:
    script = Script(
        jobs={"job-1": RUNNING},
        logs=[LogScript([numbered(1)], then="hang"), LogScript([numbered(2, final=v1.JobState.FAILED)])],
    )
    sink = Collected()
    async with serving(script) as port:
        link = Link(port)
        await link.up()
        async with connect(f"127.0.0.1:{link.port}") as backend:
            backoff = quick()
            following = asyncio.create_task(follow_log(backend, "job-1", sink, backoff=backoff))
            await sink.received.wait()
            await link.down()
            # Down long enough for several probes to be refused: each delay after the first
            # follows a probe that failed.
            async with asyncio.timeout(10):
                while backoff.failures < 4 and not following.done():
                    await asyncio.sleep(0.01)
            assert not following.done()
            await link.up()
            assert await asyncio.wait_for(following, 10) == v1.JobState.FAILED
        await link.down()
    assert sink.seqs == [1, 2]
    assert [request.after_seq for request in script.log_requests] == [0, 1]


async def test_gives_up_after_the_daemon_stays_away() -> None:
    script = Script(jobs={"job-1": RUNNING}, logs=[LogScript([numbered(1)], then="hang")])
    async with serving(script) as port:
        link = Link(port)
        await link.up()
        async with connect(f"127.0.0.1:{link.port}") as backend:
            following = asyncio.create_task(
                follow_log(backend, "job-1", Collected(), give_up_after=0.2, backoff=quick())
            )
            await script.streaming.wait()
            lost_at = time.monotonic()
            await link.down()
            with pytest.raises(DaemonUnreachable) as raised:
                await asyncio.wait_for(following, 10)
            waited = time.monotonic() - lost_at
    assert 0.2 <= waited < 5
    assert str(raised.value) == (
        f"lost hodeid at 127.0.0.1:{link.port} for 0.2 s while following job job-1; "
        "it may still be running: check with 'hodei job get job-1' once hodeid is back"
    )


async def test_a_refusal_is_not_retried() -> None:
    script = Script(jobs={"job-1": RUNNING}, logs=[LogScript([numbered(1)], then="unavailable")])
    async with serving(script) as port, connect(f"127.0.0.1:{port}") as backend:
        following = asyncio.create_task(follow_log(backend, "job-1", Collected(), backoff=quick()))
        await script.streaming.wait()
        # The job is gone by the time the client asks again.
        del script.jobs["job-1"]
        with pytest.raises(RequestRefused, match=r"^job job-1 not found$"):
            await asyncio.wait_for(following, 10)
    assert len(script.log_requests) == 1


async def test_without_follow_the_history_is_all() -> None:
    script = Script(jobs={"job-1": RUNNING}, logs=[LogScript([numbered(5, 6)])])
    sink = Collected()
    async with serving(script) as port, connect(f"127.0.0.1:{port}") as backend:
        final = await follow_log(backend, "job-1", sink, after_seq=4, follow=False)
    assert final == v1.JobState.UNSPECIFIED
    assert sink.seqs == [5, 6]
    assert script.log_requests == [v1.StreamLogsRequest(job_id="job-1", after_seq=4, follow=False)]
