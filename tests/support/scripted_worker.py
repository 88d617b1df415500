"""A worker stream driven by a test, and helpers to talk to a real Daemon's services over a
grpclib channel (in memory or on loopback)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from hodei_api import v1
from hodei_api.loglines import Line, micros, pack, unpack
from hodei_api.worker_identity import new_credential
from hodeid.config import SchedulerSettings

FAST = SchedulerSettings(tick_seconds=0.05, dispatch_timeout_seconds=1.0, heartbeat_interval_seconds=0.5)


class ScriptedWorker:
    """One real Connect stream whose messages the test sends and reads."""

    def __init__(
        self,
        stub: v1.WorkerServiceStub,
        worker_id: str,
        slots: int = 2,
        *,
        credential: str = "",
        **labels: str,
    ) -> None:
        self.outbox: asyncio.Queue[v1.WorkerMessage | None] = asyncio.Queue()
        self.credential = credential or new_credential()
        """The credential this worker presents: the one given (a later stream of the same
        worker), else a new one, as a worker makes on its first start."""
        self.hello = v1.Hello(
            worker_id=worker_id, hostname="test", labels=labels, slots=slots,
            resources=v1.Resources(cpu=2, memory_mb=1024), version="test", credential=self.credential,
        )  # fmt: skip
        self.inbox = stub.connect(self._messages())

    async def _messages(self) -> AsyncIterator[v1.WorkerMessage]:
        yield v1.WorkerMessage(hello=self.hello)
        while (message := await self.outbox.get()) is not None:
            yield message

    async def next(self, kind: str, timeout: float = 30.0) -> v1.DaemonMessage:
        """The next daemon message of ``kind`` (heartbeats are skipped)."""
        async with asyncio.timeout(timeout):
            async for message in self.inbox:
                if getattr(message, kind) is not None:
                    return message
        raise AssertionError(f"stream ended before {kind}")

    def send(self, **kind: object) -> None:
        self.outbox.put_nowait(v1.WorkerMessage(**kind))  # type: ignore[arg-type]

    def close(self) -> None:
        self.outbox.put_nowait(None)


async def submit(channel: object, *command: str, **kw: object) -> v1.Job:
    stub = v1.JobServiceStub(channel)  # type: ignore[arg-type]
    spec = v1.JobSpec(command=list(command), **kw)  # type: ignore[arg-type]
    job = (await stub.submit_job(v1.SubmitJobRequest(spec=spec))).job
    assert job is not None
    return job


async def wait_state(channel: object, job_id: str, state: v1.JobState) -> v1.Job:
    stub = v1.JobServiceStub(channel)  # type: ignore[arg-type]
    async with asyncio.timeout(30):
        while (job := await stub.get_job(v1.GetJobRequest(id=job_id))).state is not state:
            await asyncio.sleep(0.02)
    return job


def out(seq: int, text: str, stream: v1.LogStream = v1.LogStream.STDOUT) -> Line:
    """A line as a worker sends it, but for its attempt: the daemon files it under the batch's."""
    return Line(seq, stream, text.encode(), micros(datetime.now(UTC)), 0)


def batch(job_id: str, attempt: int, *lines: Line) -> v1.LogBatch:
    return v1.LogBatch(job_id=job_id, attempt=attempt, lines=pack(lines))


def lines_of(*chunks: v1.LogChunk) -> list[Line]:
    return [line for chunk in chunks if chunk.lines is not None for line in unpack(chunk.lines)]


async def acknowledged(worker: ScriptedWorker, applied: int) -> None:
    """Wait until the daemon has acknowledged ``applied`` messages of the stream."""
    while (ack := (await worker.next("ack")).ack) is not None and ack.applied < applied:
        pass
    assert ack is not None and ack.applied == applied
