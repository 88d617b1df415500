"""Heartbeats both ways on a worker stream, for the daemon and the worker alike: each side
numbers its own beats, echoes the peer's latest with how long it held it, and measures the
round trip from the peer's echo of its own."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from hodei_api import v1


class Heartbeats:
    """One side's heartbeats on one stream."""

    def __init__(self) -> None:
        self.sent = 0
        """How many beats this side has made."""
        self.rtt: float | None = None
        """Round-trip time in seconds, from the peer's echo of our latest beat (None before)."""
        self._peer: v1.Heartbeat | None = None
        self._peer_at = 0.0

    def beat(self, running: int = 0) -> v1.Heartbeat:
        """The next beat to send, echoing the peer's latest."""
        self.sent += 1
        peer = self._peer
        return v1.Heartbeat(
            seq=self.sent,
            sent_at=datetime.now(UTC),
            echo_seq=peer.seq if peer is not None else 0,
            echo_sent_at=peer.sent_at if peer is not None else None,
            echo_held_seconds=time.monotonic() - self._peer_at if peer is not None else 0.0,
            running=running,
        )

    def heard(self, beat: v1.Heartbeat) -> None:
        """Take the peer's beat: kept to echo, and its echo of ours gives the round trip (less
        the time the peer held ours before sending this one)."""
        self._peer, self._peer_at = beat, time.monotonic()
        if beat.echo_sent_at is not None:
            waited = (datetime.now(UTC) - beat.echo_sent_at).total_seconds()
            self.rtt = max(0.0, waited - beat.echo_held_seconds)
