"""A real grpclib server on loopback playing the daemon's side of Connect, one step at a time."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import betterproto2
from grpclib.const import Status
from grpclib.exceptions import GRPCError
from grpclib.server import Server

from hodei_api import v1
from hodei_api.loglines import Line, unpack
from hodei_worker.config import WorkerSettings
from tests.support.sockets import listening_socket

_END = None


class DaemonStream:
    """One Connect call as the daemon sees it: what the worker sent, and what to send it."""

    def __init__(self) -> None:
        self.received: asyncio.Queue[v1.WorkerMessage | None] = asyncio.Queue()
        self.log: list[v1.WorkerMessage] = []
        self._outgoing: asyncio.Queue[v1.DaemonMessage | None] = asyncio.Queue()

    def send(self, **kind: Any) -> None:
        """Send one DaemonMessage, e.g. ``send(welcome=v1.Welcome(...))``."""
        self._outgoing.put_nowait(v1.DaemonMessage(**kind))

    def welcome(self, interval: float = 5.0, stale: list[v1.RunningAttempt] | None = None) -> None:
        self.send(
            welcome=v1.Welcome(
                session_id="s-1", daemon_id="d-1", heartbeat_interval_seconds=interval, stale=stale or []
            )
        )

    def hang_up(self) -> None:
        """End the stream from the daemon's side."""
        self._outgoing.put_nowait(_END)

    async def next(self, kind: str, timeout: float = 10.0) -> Any:
        """The next message of ``kind`` from the worker, skipping heartbeats unless asked for."""
        async with asyncio.timeout(timeout):
            while True:
                message = await self.received.get()
                if message is None:
                    raise AssertionError(f"the worker ended the stream while the test waited for {kind}")
                name, value = betterproto2.which_one_of(message, "kind")
                if name == kind:
                    return value
                if name != "heartbeat":
                    raise AssertionError(f"wanted {kind}, got {name}: {value}")

    async def until_finished(self, timeout: float = 10.0) -> tuple[list[Line], v1.Finished]:
        """Log lines up to the Finished that follows them."""
        lines: list[Line] = []
        async with asyncio.timeout(timeout):
            while True:
                message = await self.received.get()
                assert message is not None, "the worker ended the stream before Finished"
                if message.log_batch is not None:
                    lines.extend(batch_lines(message))
                elif message.finished is not None:
                    return lines, message.finished
                else:
                    assert message.heartbeat is not None, f"unexpected {message}"

    async def ended(self, timeout: float = 10.0) -> None:
        """Wait for the worker to end its side, ignoring what comes before."""
        async with asyncio.timeout(timeout):
            while await self.received.get() is not None:
                pass


class FakeDaemon(v1.WorkerServiceBase):
    """Hands each Connect call to the test as a ``DaemonStream``."""

    def __init__(self) -> None:
        self.streams: asyncio.Queue[DaemonStream] = asyncio.Queue()
        self.addr = ""
        # False plays a daemon that is going away and never ends its side of a stream.
        self.answers_close = True
        # False plays a daemon that never stores what it receives (nor acknowledges it).
        self.acknowledges = True
        # Set: refuse every stream as UNAUTHENTICATED with this message, as hodeid refuses a
        # Hello whose token or credential is wrong.
        self.refuses: str | None = None

    async def connect(self, messages: AsyncIterator[v1.WorkerMessage]) -> AsyncIterator[v1.DaemonMessage]:
        stream = DaemonStream()
        self.streams.put_nowait(stream)
        if self.refuses is not None:
            hello = await anext(messages)
            stream.log.append(hello)
            raise GRPCError(Status.UNAUTHENTICATED, self.refuses)
        reader = asyncio.create_task(self._read(messages, stream, self.answers_close, self.acknowledges))
        try:
            while (message := await stream._outgoing.get()) is not _END:
                assert message is not None
                yield message
        finally:
            reader.cancel()

    async def next_stream(self, timeout: float = 10.0) -> DaemonStream:
        async with asyncio.timeout(timeout):
            return await self.streams.get()

    @staticmethod
    async def _read(
        messages: AsyncIterator[v1.WorkerMessage], stream: DaemonStream, answer: bool, ack: bool
    ) -> None:
        applied = 0
        try:
            async for message in messages:
                stream.log.append(message)
                stream.received.put_nowait(message)
                if ack and message.hello is None and message.heartbeat is None:
                    applied += 1
                    stream.send(ack=v1.Acknowledged(applied=applied))
        finally:
            # The worker ended its side (or went away): end ours, as hodeid does.
            stream.received.put_nowait(None)
            if answer:
                stream.hang_up()


def batch_lines(message: v1.WorkerMessage) -> list[Line]:
    """The lines of a ``log_batch`` message (none for any other message)."""
    batch = message.log_batch
    return unpack(batch.lines) if batch is not None and batch.lines is not None else []


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def serve(port: int = 0) -> AsyncIterator[FakeDaemon]:
    """A FakeDaemon listening on 127.0.0.1 (``port``, or a free one)."""
    daemon = FakeDaemon()
    server = Server([daemon])
    sock = listening_socket(port)
    daemon.addr = f"127.0.0.1:{sock.getsockname()[1]}"
    await server.start(sock=sock)
    try:
        yield daemon
    finally:
        server.close()
        await server.wait_closed()


def now() -> datetime:
    return datetime.now(UTC)


def settings(addr: str, **overrides: object) -> WorkerSettings:
    """A test worker's settings, connecting to ``addr``, with ``overrides``."""
    values: dict[str, object] = {
        "server": addr,
        "slots": 2,
        "labels": {"zone": "test"},
        "cpu": 2.0,
        "memory_mb": 512,
        "worker_id": "w-test",
        "heartbeat_seconds": 5.0,
    }
    values.update(overrides)
    return WorkerSettings.model_validate(values)
