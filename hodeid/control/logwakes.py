"""Lines stored by any daemon sharing the database wake this daemon's followers of their job:
every stored batch is announced (NOTIFY hodei_logs, 'job id:greatest seq:writer', once the batch
is committed), and the followers read the lines from storage. Lines this daemon stored are handed
to its followers by its hub (LogHub.publish): hearing them back (the writer is its LogStore)
wakes nobody, even when the notification comes before the hub has them."""

from __future__ import annotations

import logging

from hodeid.control.listening import Listen, keep_listening
from hodeid.control.loghub import LogHub

log = logging.getLogger(__name__)


class LogWakes:
    def __init__(self, hub: LogHub, listen: Listen, writer: str) -> None:
        self._hub = hub
        self._listen = listen
        self._writer = writer

    def heard(self, payload: str) -> None:
        """Wake the followers of the job a notification names (``job id:greatest seq:writer``),
        unless this daemon wrote the lines."""
        try:
            job_id, seq, writer = payload.split(":")
            upto = int(seq)
        except ValueError:
            log.warning("log notification %r ignored: not 'job id:seq:writer'", payload)
            return
        if writer != self._writer:
            self._hub.stored(job_id, upto)

    async def run(self) -> None:
        """Hear stored lines until cancelled, listening again after a lost connection."""
        # Lines stored while nobody listened went unheard: every follower reads storage.
        await keep_listening(self._listen, self.heard, self._hub.missed, "log notifications")
