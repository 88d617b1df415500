"""A real hodeid under a fake systemd: the test owns the NOTIFY_SOCKET and reads what the
daemon tells it over a whole life, start to SIGTERM."""

from __future__ import annotations

import signal
import socket
import uuid
from pathlib import Path

from tests.support.processes import Cluster, stop


def until(sock: socket.socket, wanted: str, seen: list[str]) -> None:
    """Read datagrams into ``seen`` until one carries the line ``wanted``."""
    while not any(wanted in message.splitlines() for message in seen):
        seen.append(sock.recv(4096).decode())


def test_ready_watchdog_and_stopping_reach_the_notify_socket(database_url: str, tmp_path: Path) -> None:
    name = f"hodei-notify-{uuid.uuid4().hex}"
    cluster = Cluster(database_url, tmp_path)
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(30)
        try:
            # Watchdog every 0.5 s: WatchdogSec=1.
            daemon = cluster.start_daemon(env={"NOTIFY_SOCKET": "@" + name, "WATCHDOG_USEC": "1000000"})
            seen: list[str] = []
            until(sock, "READY=1", seen)
            until(sock, "WATCHDOG=1", seen)
            ready = next(i for i, m in enumerate(seen) if "READY=1" in m.splitlines())
            assert f"STATUS=listening on 127.0.0.1:{cluster.port}" in seen[ready].splitlines()
            stop(daemon, signal.SIGTERM)
            until(sock, "STOPPING=1", seen)
            assert daemon.returncode == 0
        finally:
            cluster.close()
