"""sd_notify over a datagram socket the test owns: path and abstract addresses, the
watchdog period, and silence when not under systemd."""

from __future__ import annotations

import asyncio
import os
import socket
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from hodeid.systemd import Notifier


@pytest.fixture
def path_socket() -> Iterator[tuple[socket.socket, str]]:
    # tmp_path can exceed the 108 bytes a unix socket path may have.
    with tempfile.TemporaryDirectory(prefix="hodei-") as root:
        path = str(Path(root) / "notify")
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.bind(path)
            sock.settimeout(5)
            yield sock, path


def test_notify_sends_the_lines_as_one_datagram(path_socket: tuple[socket.socket, str]) -> None:
    sock, path = path_socket
    Notifier({"NOTIFY_SOCKET": path}).notify("READY=1", "STATUS=up")
    assert sock.recv(4096) == b"READY=1\nSTATUS=up"


def test_an_at_sign_names_an_abstract_socket() -> None:
    name = f"hodei-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(5)
        Notifier({"NOTIFY_SOCKET": "@" + name}).notify("STOPPING=1")
        assert sock.recv(4096) == b"STOPPING=1"


def test_without_notify_socket_nothing_is_sent_and_nothing_fails() -> None:
    notifier = Notifier({})
    notifier.notify("READY=1")
    assert notifier.watchdog_seconds is None


def test_a_vanished_socket_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    Notifier({"NOTIFY_SOCKET": "/nonexistent/notify"}).notify("READY=1")
    assert "cannot notify systemd" in caplog.text


@pytest.mark.parametrize(
    ("usec", "pid", "seconds"),
    [
        ("30000000", None, 30.0),
        ("30000000", "self", 30.0),
        ("30000000", "1", None),  # meant for another process
        ("0", None, None),
        ("", None, None),
        ("soon", None, None),
    ],
)
def test_watchdog_period_comes_from_watchdog_usec(usec: str, pid: str | None, seconds: float | None) -> None:
    environ = {"WATCHDOG_USEC": usec}
    if pid is not None:
        environ["WATCHDOG_PID"] = str(os.getpid()) if pid == "self" else pid
    assert Notifier(environ).watchdog_seconds == seconds


async def test_keep_alive_pings_every_half_period(path_socket: tuple[socket.socket, str]) -> None:
    sock, path = path_socket
    task = asyncio.create_task(Notifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "20000"}).keep_alive())
    try:
        for _ in range(3):
            assert await asyncio.to_thread(sock.recv, 4096) == b"WATCHDOG=1"
    finally:
        task.cancel()


async def test_keep_alive_returns_when_no_watchdog_is_asked_for() -> None:
    await asyncio.wait_for(Notifier({}).keep_alive(), 1)
