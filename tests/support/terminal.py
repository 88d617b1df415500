"""Reading what a program writes to a pseudo-terminal, with a deadline."""

from __future__ import annotations

import os
import pty
import select
import shlex
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from tests.support.processes import free_port


def read_until(fd: int, wanted: bytes, timeout: float = 30.0) -> bytes:
    """What the program wrote to the terminal ``fd`` up to and including ``wanted``; fails if
    it is not shown within ``timeout`` seconds or the program closes the terminal first."""
    seen = b""
    deadline = time.monotonic() + timeout
    while wanted not in seen:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"{wanted!r} not shown; the terminal got {seen[-2000:]!r}")
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                seen += os.read(fd, 65536)
            except OSError:  # the child closed the terminal
                raise AssertionError(
                    f"the program closed the terminal before showing {wanted!r}; it wrote {seen[-2000:]!r}"
                ) from None
    return seen


def drain(fd: int, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """Read what the console writes until it exits: a full terminal would block it."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                os.read(fd, 65536)
            except OSError:
                return


def console_opens_and_quits(argv: list[str], cwd: Path | None = None) -> int:
    """Open the console command ``argv`` in a terminal against a port nothing listens on, wait
    until it says it is disconnected, press ``q``; its exit status."""
    addr = f"127.0.0.1:{free_port()}"
    env = {**os.environ, "HODEI_ADDR": addr, "TERM": "xterm-256color", "COLUMNS": "140", "LINES": "40"}
    main, child = pty.openpty()
    proc = subprocess.Popen(argv, stdin=child, stdout=child, stderr=child, env=env, cwd=cwd)
    os.close(child)
    try:
        read_until(main, b"DISCONNECTED")
        os.write(main, b"q")
        drain(main, proc)
        return proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(main)


class Tmux:
    """A program in a real terminal: a tmux server of its own (its socket under ``directory``),
    keys sent as a person or a paste would, and the screen read as it is drawn."""

    def __init__(self, directory: Path, argv: list[str], env: dict[str, str], size: tuple[int, int]) -> None:
        self.socket = str(directory / "tmux.sock")
        width, height = size
        command = " ".join(shlex.quote(word) for word in argv)
        env = {**env, "TERM": "xterm-256color"}
        self._tmux("new-session", "-d", "-s", "t", "-x", str(width), "-y", str(height), command, env=env)

    def _tmux(self, *args: str, env: dict[str, str] | None = None) -> str:
        done = subprocess.run(
            ["tmux", "-S", self.socket, *args], capture_output=True, check=True, env=env, timeout=30
        )
        return done.stdout.decode()

    def type(self, text: str) -> None:
        """``text`` written to the terminal in one go (a tab in it is the Tab key)."""
        self._tmux("send-keys", "-t", "t", "-l", text)

    def key(self, name: str) -> None:
        self._tmux("send-keys", "-t", "t", name)

    def screen(self) -> str:
        return self._tmux("capture-pane", "-t", "t", "-p")

    def wait_for(self, check: Callable[[str], bool], what: str, timeout: float = 30.0) -> str:
        """The screen once ``check`` holds for it; fails after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while not check(screen := self.screen()):
            if time.monotonic() > deadline:
                raise AssertionError(f"{what} not shown within {timeout} s; the screen:\n{screen}")
            time.sleep(0.05)
        return screen

    def close(self) -> None:
        """End this tmux server, and with it the program (it gets SIGHUP)."""
        self._tmux("kill-server")
