"""The live session registry: the only source of truth for which workers are available.

A worker is here from its Hello until its stream ends. A database row is a record, never
availability; after a daemon restart the registry is empty until workers reconnect.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from hodei_api import v1
from hodei_api.heartbeats import Heartbeats
from hodeid.domain.placement import JobNeeds, WorkerState

Key = tuple[str, int]  # (job id, attempt)


@dataclass
class Session:
    """One live worker stream."""

    hello: v1.Hello
    reconnects: int = 0
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    connected_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    last_heard: float = field(default_factory=time.monotonic)
    heartbeats: Heartbeats = field(default_factory=Heartbeats)
    draining: bool = False
    running: Mapping[Key, JobNeeds] = field(default_factory=dict)
    """The attempts its stream holds: a read-only view of the ``Ledger``'s books."""
    outbox: asyncio.Queue[v1.DaemonMessage | None] = field(default_factory=asyncio.Queue)
    closed: bool = False
    # Set once every message the worker sent on this stream has been applied.
    drained: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def worker_id(self) -> str:
        return self.hello.worker_id

    def send(self, message: v1.DaemonMessage) -> None:
        if not self.closed:
            self.outbox.put_nowait(message)

    def close(self) -> None:
        """End the stream: the serving loop sees None and returns."""
        if not self.closed:
            self.closed = True
            self.outbox.put_nowait(None)

    @property
    def rtt_ms(self) -> float:
        """The round trip of our heartbeats, in milliseconds (0 before one is measured)."""
        return (self.heartbeats.rtt or 0.0) * 1000

    def heartbeat_age(self, now: float | None = None) -> float:
        return (now if now is not None else time.monotonic()) - self.last_heard

    def state(self, now: float | None = None) -> WorkerState:
        # Not ``or``: a message's truth is a walk over all its fields, and this runs for every
        # live worker on every scheduling pass.
        resources = self.hello.resources if self.hello.resources is not None else v1.Resources()
        return WorkerState(
            id=self.worker_id,
            slots_total=self.hello.slots,
            slots_used=len(self.running),
            cpu_total=resources.cpu,
            cpu_used=sum(n.cpu for n in self.running.values()),
            memory_total=resources.memory_mb,
            memory_used=sum(n.memory_mb for n in self.running.values()),
            labels=dict(self.hello.labels),
            live=not self.closed,
            draining=self.draining,
            heartbeat_age=self.heartbeat_age(now),
        )


class Registry:
    """Live sessions by worker id."""

    def __init__(self) -> None:
        self.sessions: dict[str, Session] = {}
        # Called with a worker's id whenever it connects, goes, or its state changes.
        self.listeners: list[Callable[[str], None]] = []

    def changed(self, worker_id: str) -> None:
        """Tell the listeners that a worker's state, slots or heartbeat changed."""
        for listener in self.listeners:
            listener(worker_id)

    def add(self, session: Session) -> None:
        """Register ``session`` (an older one of the same worker was closed before)."""
        self.sessions[session.worker_id] = session
        self.changed(session.worker_id)

    def remove(self, session: Session) -> None:
        if self.sessions.get(session.worker_id) is session:
            del self.sessions[session.worker_id]
            self.changed(session.worker_id)

    def get(self, worker_id: str) -> Session | None:
        return self.sessions.get(worker_id)

    def live(self) -> list[Session]:
        return [s for s in self.sessions.values() if not s.closed]
