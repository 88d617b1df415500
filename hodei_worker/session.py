"""One Connect stream: Hello and Welcome, heartbeats both ways, the outbox sent in order."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

import betterproto2

from hodei_api import v1
from hodei_api.heartbeats import Heartbeats
from hodei_worker.errors import StreamLost
from hodei_worker.outbox import Outbox

logger = logging.getLogger(__name__)

CONNECT = "/hodei.v1.WorkerService/Connect"
"""The Connect method's path. The stream is opened on the channel itself rather than through
the generated stub, whose hidden send task swallows send errors and cannot say which message
made it onto the wire."""

DEAD_AFTER = 3
"""Heartbeat intervals of silence from the daemon after which the stream counts as dead."""


class Session:
    """One life of the stream to the daemon.

    Sends ``Hello``, waits for ``Welcome``, then sends a ``Heartbeat`` every interval and the
    outbox's messages in order, and hands every other daemon message to ``dispatch`` (the
    ``Welcome`` too, before anything is sent after it). ``run`` raises ``StreamLost`` (or a
    grpclib or OS error) when the stream fails, and returns after ``close()`` once the
    outbox is sent and the daemon has ended its side.
    """

    def __init__(
        self,
        *,
        hello: v1.Hello,
        outbox: Outbox,
        dispatch: Callable[[v1.DaemonMessage], None],
        running: Callable[[], int],
        heartbeat_interval: float,
    ) -> None:
        self.interval = heartbeat_interval
        """Seconds between heartbeats: the worker's setting until Welcome says otherwise."""
        self.welcomed_at: float | None = None
        """``time.monotonic()`` when the Welcome arrived."""
        self._hello = hello
        self._outbox = outbox
        self._dispatch = dispatch
        self._running = running
        self._welcomed = asyncio.Event()
        self._closing = False
        self._heartbeats = Heartbeats()

    @property
    def rtt(self) -> float | None:
        """Round-trip time in seconds, from the daemon's echo of our latest heartbeat."""
        return self._heartbeats.rtt

    @property
    def uptime(self) -> float:
        """Seconds since the Welcome (0 if none came)."""
        return 0.0 if self.welcomed_at is None else time.monotonic() - self.welcomed_at

    def close(self) -> None:
        """End gracefully: send everything in the outbox, then end the stream."""
        self._closing = True
        self._outbox.poke()

    async def run(self, stream: Any) -> None:
        """Talk on ``stream``, a grpclib client stream of Connect, until it ends or fails."""
        try:
            async with asyncio.timeout(DEAD_AFTER * self.interval):
                await stream.send_request()
        except TimeoutError:
            raise StreamLost(f"no connection after {DEAD_AFTER * self.interval:g} s") from None
        sender = asyncio.create_task(self._send_all(stream), name="hodei-worker send")
        receiver = asyncio.create_task(self._receive_all(stream), name="hodei-worker receive")
        try:
            # Ends at the first failure, or once both sides have ended the stream.
            done, _ = await asyncio.wait({sender, receiver}, return_when=asyncio.FIRST_EXCEPTION)
        finally:
            sender.cancel()
            receiver.cancel()
            await asyncio.gather(sender, receiver, return_exceptions=True)
        for task in done:
            if (exc := task.exception()) is not None:
                raise exc

    async def _send_all(self, stream: Any) -> None:
        await stream.send_message(v1.WorkerMessage(hello=self._hello))
        await self._welcomed.wait()
        next_beat = time.monotonic()
        while True:
            now = time.monotonic()
            if now >= next_beat:
                await stream.send_message(self._heartbeat())
                next_beat = now + self.interval
                continue
            if (message := self._outbox.take()) is not None:
                # Kept until acknowledged: if this send fails, the next stream sends it again.
                await stream.send_message(message)
                continue
            if self._closing:
                await stream.end()
                return
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(next_beat - now):
                    await self._outbox.ready()

    async def _receive_all(self, stream: Any) -> None:
        while True:
            silence = DEAD_AFTER * self.interval
            try:
                async with asyncio.timeout(silence):
                    message = await stream.recv_message()
            except TimeoutError:
                raise StreamLost(f"nothing from the daemon for {silence:g} s") from None
            if message is None:
                if self._closing:
                    return
                raise StreamLost("the daemon ended the stream")
            self._receive(message)

    def _receive(self, message: v1.DaemonMessage) -> None:
        if (welcome := message.welcome) is not None:
            self.welcomed_at = time.monotonic()
            if welcome.heartbeat_interval_seconds > 0:
                self.interval = welcome.heartbeat_interval_seconds
            self._dispatch(message)
            self._welcomed.set()
        elif not self._welcomed.is_set():
            kind, _ = betterproto2.which_one_of(message, "kind")
            raise StreamLost(f"the daemon sent {kind or 'an empty message'} before Welcome")
        elif (ack := message.ack) is not None:
            self._outbox.acknowledge(ack.applied)
        elif (beat := message.heartbeat) is not None:
            self._heartbeats.heard(beat)
            if self.rtt is not None:
                logger.debug("heartbeat round trip %.1f ms", self.rtt * 1000)
        else:
            self._dispatch(message)

    def _heartbeat(self) -> v1.WorkerMessage:
        return v1.WorkerMessage(heartbeat=self._heartbeats.beat(self._running()))
