"""Which daemon the worker tries next, when it was given several (``--server A,B,C``).

The daemons share one database, so any of them will do. After a failure the worker moves on
to the next address: the daemon it just lost (killed, unreachable, not a hodeid) is the one
least likely to answer. Addresses that refuse or never answer are skipped over without waiting;
only a whole round of them failing is waited out with the backoff, so a dead daemon costs its
workers one refused connection, not a backoff delay.
"""

from __future__ import annotations

from collections.abc import Sequence

from hodei_api.client import parse_addrs
from hodei_api.rotation import Rotation


def format_addr(host: str, port: int) -> str:
    """``HOST:PORT`` again (``[HOST]:PORT`` for an IPv6 address), as ``parse_addr`` reads it."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def server_list(text: str) -> list[str]:
    """The addresses of a comma-separated list, in order, without repeats (``AddressError``
    naming the entry that is not ``HOST:PORT``)."""
    return [format_addr(host, port) for host, port in parse_addrs(text)]


class Servers:
    """The daemon addresses, the one to try now, and how many have failed in a row since the
    last stream that was welcomed."""

    def __init__(self, addrs: Sequence[str]) -> None:
        self.addrs = list(addrs)
        self._rotation = Rotation(self.addrs)
        self._unanswered = 0

    @property
    def current(self) -> str:
        """The address to connect to now."""
        return self._rotation.current

    @property
    def next(self) -> str:
        """The address after ``current``, which a failure moves on to."""
        return self._rotation.order()[1 % len(self.addrs)]

    def failed(self, welcomed: bool) -> bool:
        """The stream to ``current`` failed (after a Welcome, or before one); move on to the
        next address. True when the worker should back off before trying it: after a welcomed
        stream (jitter, so a dead daemon's workers do not all land on the next one at once) or
        once every address failed in a row; False while untried addresses remain."""
        self._rotation.failed(self.current)
        if welcomed:
            self._unanswered = 0
            return True
        self._unanswered += 1
        return self._unanswered % len(self.addrs) == 0
