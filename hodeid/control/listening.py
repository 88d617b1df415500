"""Hearing a PostgreSQL channel for as long as the daemon runs: listening again, with backoff,
after the connection is lost or cannot be made."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from hodei_api.backoff import Backoff
from hodeid.errors import StoreError

log = logging.getLogger(__name__)

Listen = Callable[[Callable[[str], None], Callable[[], None]], Awaitable[None]]
"""``listen(heard, started)`` calls ``started()`` once listening, then ``heard`` with each
notification's payload until the notifications stop (returns)."""


async def keep_listening(
    listen: Listen, heard: Callable[[str], None], started: Callable[[], None], what: str
) -> None:
    """Call ``listen(heard, started)`` again and again until cancelled; ``started`` is called
    on each new start, when notifications sent while nobody listened are lost."""
    backoff = Backoff(base=0.2, cap=5.0, reset_after=10.0)
    while True:
        began = asyncio.get_running_loop().time()
        try:
            await listen(heard, started)
            error = "connection lost"
        except StoreError as exc:
            error = exc.message
        delay = backoff.next_delay(asyncio.get_running_loop().time() - began)
        log.warning("%s stopped (%s); listening again in %.1f s", what, error, delay)
        await asyncio.sleep(delay)
