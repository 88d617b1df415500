"""The attempts running on this worker: start or reject, cancel, give up, list."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from hodei_api import v1
from hodei_worker.batcher import BatchLimits
from hodei_worker.jobuser import JobUser
from hodei_worker.outbox import Key, Outbox
from hodei_worker.process import DEFAULT_GRACE, AttemptProcess

logger = logging.getLogger(__name__)


class Attempts:
    """At most ``slots`` attempts at once, each reporting into ``outbox``.

    ``on_end`` is called each time an attempt has ended and reported. Jobs run as ``user``
    (None: as the worker's own user).
    """

    def __init__(
        self,
        slots: int,
        outbox: Outbox,
        *,
        on_end: Callable[[], None],
        default_grace: float = DEFAULT_GRACE,
        limits: BatchLimits | None = None,
        user: JobUser | None = None,
    ) -> None:
        self.slots = slots
        self._user = user
        self._limits = limits
        self._outbox = outbox
        self._on_end = on_end
        self._default_grace = default_grace
        self._running: dict[Key, AttemptProcess] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def __len__(self) -> int:
        return len(self._running)

    def start(self, run: v1.RunJob, refusal: str = "") -> None:
        """Start ``run`` unless there is a ``refusal`` or no free slot: then reject it."""
        key = (run.job_id, run.attempt)
        if (attempt := self._running.get(key)) is not None:
            logger.info("job %s attempt %d: sent again; it is running here", *key)
            attempt.send_accepted()
            return
        if not refusal and len(self._running) >= self.slots:
            refusal = f"all {self.slots} slots are busy"
        if refusal:
            logger.info("job %s attempt %d: rejected: %s", *key, refusal)
            rejected = v1.Rejected(job_id=run.job_id, attempt=run.attempt, reason=refusal)
            self._outbox.put(v1.WorkerMessage(rejected=rejected))
            return
        attempt = AttemptProcess(
            run, self._outbox.put, default_grace=self._default_grace, limits=self._limits, user=self._user
        )
        self._running[key] = attempt
        task = asyncio.create_task(self._supervise(attempt), name=f"job {key[0]} attempt {key[1]}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def cancel(self, key: Key, reason: str, grace: float | None = None) -> None:
        """Cancel the attempt ``key`` if it runs here."""
        if (attempt := self._running.get(key)) is None:
            logger.info("job %s attempt %d: cancel ignored, not running here", *key)
            return
        attempt.cancel(reason, grace)

    def cancel_all(self, reason: str) -> None:
        """Cancel every running attempt."""
        for attempt in list(self._running.values()):
            attempt.cancel(reason)

    def abandon(self, key: Key) -> None:
        """Kill the attempt ``key`` and drop all it has not sent: the daemon gave it up."""
        if (attempt := self._running.pop(key, None)) is not None:
            attempt.abandon()
            logger.warning("job %s attempt %d: the daemon gave it up; killed it", *key)
        self._outbox.discard(key)

    def unreported(self) -> list[v1.RunningAttempt]:
        """Attempts the daemon has not heard end: running, or with ``Finished`` unsent."""
        last_seqs = {a.key: a.last_seq for a in self._running.values()}
        for finished in self._outbox.pending_finished():
            last_seqs.setdefault((finished.job_id, finished.attempt), finished.last_seq)
        return [
            v1.RunningAttempt(job_id=job_id, attempt=attempt, last_seq=last_seq)
            for (job_id, attempt), last_seq in last_seqs.items()
        ]

    async def wait(self) -> None:
        """Return once every attempt has ended."""
        if self._tasks:
            await asyncio.wait(list(self._tasks))

    async def kill_all(self) -> None:
        """End every attempt at once, each taking its process group with it."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _supervise(self, attempt: AttemptProcess) -> None:
        try:
            await attempt.run()
        except Exception:
            logger.exception("job %s attempt %d: the worker failed running it", *attempt.key)
        finally:
            # A given-up attempt may already have made room for a new run of the same key.
            if self._running.get(attempt.key) is attempt:
                del self._running[attempt.key]
            self._on_end()
