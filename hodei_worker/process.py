"""One attempt of a job: its process group from spawn to ``Finished``."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from datetime import UTC, datetime

from hodei_api import v1
from hodei_worker.batcher import BatchLimits, Emit, LineBatcher
from hodei_worker.command import describe_exit, start_command
from hodei_worker.errors import SpawnError
from hodei_worker.jobuser import JobUser

logger = logging.getLogger(__name__)

DEFAULT_GRACE = 10.0
"""Seconds between SIGTERM and SIGKILL when neither the cancel nor the job says otherwise."""

ACCEPT_WINDOW = 0.01
"""Seconds ``Accepted`` waits after the spawn for the attempt's first output or its end, so
that a job that ends at once is reported in one go (``Accepted`` and ``Finished`` sent
together: one wake-up of the sender and one batch for the daemon instead of two)."""


class AttemptProcess:
    """Runs one attempt of a job and reports on it through ``emit``.

    It reports ``Accepted``, then ``LogBatch`` es, then ``Finished`` with what the kernel
    counted for the process (``Usage``). A command that cannot
    start gets one ``LOG_STREAM_SYSTEM`` line and ``Finished(FAILED)`` with exit code 127 (not
    found) or 126 (any other reason), and no ``Accepted``. Cancel and timeout send SIGTERM to
    the process group, then SIGKILL after the grace; nothing in the group outlives the attempt.
    It runs as ``user`` (None: as the worker's own user).
    """

    def __init__(
        self,
        run: v1.RunJob,
        emit: Emit,
        *,
        default_grace: float = DEFAULT_GRACE,
        limits: BatchLimits | None = None,
        user: JobUser | None = None,
        accept_window: float = ACCEPT_WINDOW,
    ) -> None:
        self.job_id = run.job_id
        self.attempt = run.attempt
        self.spec = run.spec or v1.JobSpec()
        self.pid: int | None = None
        """The process's pid, which is also its process group's id, once it started."""
        self.started_at: datetime | None = None
        self._emit = emit
        self._user = user
        # Sequence numbers start at 1: a RunJob that leaves first_seq unset means exactly that.
        self._batcher = LineBatcher(run.job_id, run.attempt, run.first_seq or 1, self._send, limits)
        self._grace = self.spec.kill_grace_seconds or default_grace
        self._outcome: v1.AttemptOutcome | None = None
        self._reason = ""
        self._abandoned = False
        self._done: asyncio.Future[None] | None = None
        self._timers: list[asyncio.TimerHandle] = []
        self._accept_window = accept_window
        self._accepted = False

    @property
    def key(self) -> tuple[str, int]:
        """``(job_id, attempt)``."""
        return self.job_id, self.attempt

    @property
    def last_seq(self) -> int:
        """Sequence number of the latest output line so far."""
        return self._batcher.last_seq

    async def run(self) -> v1.Finished | None:
        """Run the attempt to its end; return the ``Finished`` it sent, or None if abandoned."""
        if self._abandoned:
            return None
        loop = asyncio.get_running_loop()
        try:
            running = await start_command(self.spec, self._batcher, self._user)
        except SpawnError as exc:
            logger.warning("job %s attempt %d: %s", self.job_id, self.attempt, exc)
            self._batcher.system(str(exc))
            self._batcher.flush()
            return self._send_finished(v1.AttemptOutcome.FAILED, str(exc), exc.exit_code)
        self._done = running.done
        try:
            self.pid = running.pid
            self.started_at = datetime.now(UTC)
            logger.info("job %s attempt %d: started pid %d", self.job_id, self.attempt, self.pid)
            self._timers.append(loop.call_later(self._accept_window, self._accept))
            if self._abandoned:
                self._signal(signal.SIGKILL)
            elif self._outcome is not None:
                self._terminate()  # cancelled while it was being spawned
            elif (timeout := self.spec.timeout_seconds) > 0:
                reason = f"timed out after {timeout:g} s"
                self._timers.append(
                    loop.call_later(timeout, self._stop, v1.AttemptOutcome.TIMED_OUT, reason, None)
                )
            await running.done
        finally:
            for timer in self._timers:
                timer.cancel()
            self._signal(signal.SIGKILL)  # whatever the job left behind in its group
            running.close()
        return self._finish(running.returncode, running.usage())

    def cancel(self, reason: str = "", grace: float | None = None) -> None:
        """End the attempt as CANCELLED: SIGTERM to its process group, SIGKILL after the grace.

        The grace is ``grace`` if given, else the job's ``kill_grace_seconds``, else the default.
        """
        self._stop(v1.AttemptOutcome.CANCELLED, reason or "cancelled", grace)

    def abandon(self) -> None:
        """Kill the process group now and report nothing more: the daemon has given it up."""
        self._abandoned = True
        self._signal(signal.SIGKILL)

    def send_accepted(self) -> None:
        """Report ``Accepted`` (again, if the daemon re-sent the RunJob), once started."""
        if self.pid is None:
            return
        self._accepted = True
        accepted = v1.Accepted(
            job_id=self.job_id, attempt=self.attempt, pid=self.pid, started_at=self.started_at
        )
        self._send(v1.WorkerMessage(accepted=accepted))

    def _stop(self, outcome: v1.AttemptOutcome, reason: str, grace: float | None) -> None:
        # The first reason to stop wins; an attempt that already ended has nothing to stop.
        if self._outcome is not None or self._abandoned or (self._done and self._done.done()):
            return
        self._outcome, self._reason = outcome, reason
        self._grace = grace or self._grace
        if self.pid is not None:
            self._terminate()

    def _terminate(self) -> None:
        logger.info("job %s attempt %d: %s; stopping it", self.job_id, self.attempt, self._reason)
        self._signal(signal.SIGTERM)
        loop = asyncio.get_running_loop()
        self._timers.append(loop.call_later(self._grace, self._signal, signal.SIGKILL))

    def _signal(self, sig: signal.Signals) -> None:
        if self.pid is None:
            return
        try:
            # The group, not the pid: `sh -c 'a & b'` must take a and b with it.
            os.killpg(self.pid, sig)
        except ProcessLookupError:
            pass  # the group is already empty
        except PermissionError as exc:
            logger.warning("cannot send %s to process group %d: %s", sig.name, self.pid, exc)

    def _finish(self, returncode: int, usage: v1.Usage | None) -> v1.Finished | None:
        self._batcher.flush()
        ending = describe_exit(returncode)
        if self._outcome is not None:
            outcome, reason = self._outcome, f"{self._reason}; {ending}"
        elif returncode == 0:
            outcome, reason = v1.AttemptOutcome.SUCCEEDED, ending
        else:
            outcome, reason = v1.AttemptOutcome.FAILED, ending
        logger.info("job %s attempt %d: %s", self.job_id, self.attempt, reason)
        if returncode < 0:
            return self._send_finished(outcome, reason, signal_number=-returncode, usage=usage)
        return self._send_finished(outcome, reason, returncode, usage=usage)

    def _send_finished(
        self,
        outcome: v1.AttemptOutcome,
        reason: str,
        exit_code: int | None = None,
        *,
        signal_number: int | None = None,
        usage: v1.Usage | None = None,
    ) -> v1.Finished | None:
        finished = v1.Finished(
            job_id=self.job_id,
            attempt=self.attempt,
            outcome=outcome,
            exit_code=exit_code,
            signal=signal_number,
            started_at=self.started_at,
            finished_at=datetime.now(UTC),
            reason=reason,
            last_seq=self.last_seq,
            usage=usage,
        )
        self._send(v1.WorkerMessage(finished=finished))
        return None if self._abandoned else finished

    def _accept(self) -> None:
        if not self._accepted:
            self.send_accepted()

    def _send(self, message: v1.WorkerMessage) -> None:
        if self._abandoned:
            return
        if message.accepted is None and not self._accepted:
            # The first output or the end comes before the window is over: Accepted goes first.
            self._accept()
        self._emit(message)
