"""The attempts in flight on this daemon's worker streams, with one owner: which stream holds
each, what it takes of its worker, and until when its worker must acknowledge it.

Dispatch, adoption, acknowledgement, settlement and the end of a stream all go through here;
a session's ``running`` is a read-only view of what the ledger gives it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType

from hodeid.control.registry import Key, Session
from hodeid.domain.placement import JobNeeds


@dataclass
class _Entry:
    session: Session
    ack_by: float | None
    """Monotonic deadline for the worker's acknowledgement; None once acknowledged."""


class Ledger:
    def __init__(self, changed: Callable[[str], None]) -> None:
        self._entries: dict[Key, _Entry] = {}
        self._held: dict[str, dict[Key, JobNeeds]] = {}
        # Told a worker's id whenever the slots its stream holds change.
        self._changed = changed

    def open(self, session: Session) -> None:
        """Start the books of a new stream: ``session.running`` shows what it holds."""
        held: dict[Key, JobNeeds] = {}
        self._held[session.id] = held
        session.running = MappingProxyType(held)

    def hold(self, session: Session, key: Key, needs: JobNeeds, ack_by: float | None = None) -> None:
        """``session``'s stream holds attempt ``key`` now (dispatched to it, awaiting an
        acknowledgement until ``ack_by``, or brought back by its worker); an older stream
        that held it no longer does."""
        self.release(key)
        self._entries[key] = _Entry(session, ack_by)
        self._held[session.id][key] = needs
        self._changed(session.worker_id)

    def acknowledged(self, key: Key) -> None:
        """The worker answered for attempt ``key`` (accepted, refused or finished it)."""
        if (entry := self._entries.get(key)) is not None:
            entry.ack_by = None

    def awaiting(self, key: Key) -> bool:
        """Whether attempt ``key`` was dispatched and not yet acknowledged."""
        entry = self._entries.get(key)
        return entry is not None and entry.ack_by is not None

    def overdue(self, now: float) -> list[Key]:
        """The attempts whose acknowledgement is past its deadline."""
        return [key for key, e in self._entries.items() if e.ack_by is not None and e.ack_by <= now]

    def holds(self, session: Session, key: Key) -> bool:
        """Whether ``session``'s stream holds attempt ``key``: only its reports are heard."""
        entry = self._entries.get(key)
        return entry is not None and entry.session is session

    def holder(self, key: Key) -> Session | None:
        """The live stream holding attempt ``key``, if any."""
        entry = self._entries.get(key)
        return entry.session if entry is not None and not entry.session.closed else None

    def release(self, key: Key) -> None:
        """Attempt ``key`` ended (or moved): its slot is free."""
        if (entry := self._entries.pop(key, None)) is not None:
            self._held[entry.session.id].pop(key, None)
            self._changed(entry.session.worker_id)

    def stream_ended(self, session: Session) -> None:
        """``session``'s stream ended: its worker cannot acknowledge on it any more (the
        attempts stay in the store; the worker brings back those it still runs)."""
        for key in self._held.get(session.id, {}):
            self._entries[key].ack_by = None

    def close(self, session: Session) -> None:
        """Everything read from ``session``'s ended stream is applied: forget its books."""
        for key in list(self._held.pop(session.id, {})):
            self._entries.pop(key, None)
