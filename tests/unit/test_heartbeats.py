"""The heartbeat exchange both the daemon's and the worker's end of a stream use."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hodei_api import v1
from hodei_api.heartbeats import Heartbeats


def test_each_side_numbers_its_beats_and_echoes_the_peers_latest() -> None:
    daemon, worker = Heartbeats(), Heartbeats()
    first = worker.beat(running=3)
    assert (first.seq, first.echo_seq, first.echo_sent_at, first.running) == (1, 0, None, 3)
    daemon.heard(first)
    reply = daemon.beat()
    assert (reply.seq, reply.echo_seq, reply.echo_sent_at) == (1, 1, first.sent_at)
    assert reply.echo_held_seconds >= 0
    assert worker.rtt is None
    worker.heard(reply)
    assert worker.rtt is not None and worker.rtt >= 0
    assert worker.beat().seq == 2


def test_the_round_trip_leaves_out_the_time_the_peer_held_the_beat() -> None:
    side = Heartbeats()
    sent = datetime.now(UTC) - timedelta(seconds=60)
    side.heard(v1.Heartbeat(seq=1, echo_seq=1, echo_sent_at=sent, echo_held_seconds=3600))
    assert side.rtt == 0.0
