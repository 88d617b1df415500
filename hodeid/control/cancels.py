"""Cancels reach the worker whichever daemon was asked: each cancel of a held job is announced
(LISTEN/NOTIFY), and the daemon whose stream holds the attempt sends it on. After a gap in
listening, a daemon sends again every cancel asked for the attempts its streams hold (the worker
keeps the first reason to stop, so one sent twice changes nothing)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from hodeid.control.ledger import Ledger
from hodeid.control.listening import Listen, keep_listening
from hodeid.control.scheduler import cancel_message
from hodeid.domain.states import ACTIVE
from hodeid.errors import StoreError
from hodeid.store.jobs import CancelAsked, JobStore

log = logging.getLogger(__name__)


class CancelRelay:
    def __init__(self, jobs: JobStore, ledger: Ledger, listen: Listen, daemon_id: str) -> None:
        self.jobs = jobs
        self.ledger = ledger
        self._listen = listen
        self._daemon_id = daemon_id
        self._tasks: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        await keep_listening(self._listen, self.heard, self._listening, "cancel notifications")

    def heard(self, payload: str) -> None:
        """A cancel was asked for 'job id:attempt': if a stream of this daemon holds it, send
        the cancels asked for what its streams hold (one query; a cancel is rare)."""
        job_id, _, attempt = payload.rpartition(":")
        if attempt.isdigit() and self.ledger.holder((job_id, int(attempt))) is not None:
            self._spawn(self._send_all())

    def _listening(self) -> None:
        self._spawn(self._send_all())

    async def _send_all(self) -> None:
        try:
            asked = await self.jobs.cancels_of(self._daemon_id, ACTIVE)
        except StoreError as exc:
            log.warning("cancels asked meanwhile not read (%s)", exc.message)
            return
        for cancel in asked:
            self._send(cancel)

    def _send(self, cancel: CancelAsked) -> None:
        if (session := self.ledger.holder((cancel.job_id, cancel.attempt))) is not None:
            session.send(cancel_message(cancel.job_id, cancel.attempt, cancel.kill_grace, cancel.reason))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work, name="send cancels")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
