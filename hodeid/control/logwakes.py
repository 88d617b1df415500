"""Lines stored by any daemon sharing the database wake this daemon's followers of their job:
PostgreSQL announces every stored batch (NOTIFY hodei_logs, from a trigger, 'job id:greatest
seq'), and the followers read the lines from storage. Lines this daemon stored were handed to
its followers already (LogHub.publish); hearing them back wakes nobody."""

from __future__ import annotations

import logging

from hodeid.control.listening import Listen, keep_listening
from hodeid.control.loghub import LogHub

log = logging.getLogger(__name__)


class LogWakes:
    def __init__(self, hub: LogHub, listen: Listen) -> None:
        self._hub = hub
        self._listen = listen

    def heard(self, payload: str) -> None:
        """Wake the followers of the job a notification names (``job id:greatest seq``)."""
        job_id, _, seq = payload.rpartition(":")
        try:
            upto = int(seq)
        except ValueError:
            log.warning("log notification %r ignored: not 'job id:seq'", payload)
            return
        self._hub.stored(job_id, upto)

    async def run(self) -> None:
        """Hear stored lines until cancelled, listening again after a lost connection."""
        # Lines stored while nobody listened went unheard: every follower reads storage again.
        await keep_listening(self._listen, self.heard, self._hub.missed, "log notifications")
