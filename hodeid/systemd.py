"""systemd's notify protocol (sd_notify) over ``$NOTIFY_SOCKET``, with the standard library:
READY=1 once serving, WATCHDOG=1 every half ``WatchdogSec``, STOPPING=1 on shutdown."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger(__name__)


class Notifier:
    """Sends state changes to systemd; does nothing when not started by a ``Type=notify``
    unit (no ``NOTIFY_SOCKET``), so the daemon runs the same anywhere."""

    def __init__(self, environ: Mapping[str, str] = os.environ) -> None:
        address = environ.get("NOTIFY_SOCKET", "")
        # A leading '@' names a socket in the abstract namespace, spelled with a NUL byte.
        self.address = "\0" + address[1:] if address.startswith("@") else address
        self.watchdog_seconds = _watchdog_seconds(environ)

    def notify(self, *assignments: str) -> None:
        """Send ``KEY=VALUE`` lines as one datagram; a failure is logged, never raised:
        systemd's bookkeeping must not bring the daemon down."""
        if not self.address:
            return
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.sendto("\n".join(assignments).encode(), self.address)
        except OSError as exc:
            log.warning("cannot notify systemd at %s: %s", self.address.replace("\0", "@"), exc)

    async def keep_alive(self) -> None:
        """Send WATCHDOG=1 every half watchdog period while the event loop runs; return at
        once if systemd asked for no watchdog. Cancel to stop."""
        if self.watchdog_seconds is None:
            return
        # Half the period, as sd_watchdog_enabled(3) advises, leaves room for one late tick.
        interval = self.watchdog_seconds / 2
        while True:
            self.notify("WATCHDOG=1")
            await asyncio.sleep(interval)


def _watchdog_seconds(environ: Mapping[str, str]) -> float | None:
    """``WATCHDOG_USEC`` in seconds, if it is set and meant for this process."""
    usec, pid = environ.get("WATCHDOG_USEC", ""), environ.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    if pid and pid != str(os.getpid()):
        return None
    return int(usec) / 1_000_000
