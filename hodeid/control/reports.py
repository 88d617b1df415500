"""What workers report (Accepted, LogBatch, Finished, Rejected), applied in batches: whatever
arrived together costs one round trip per kind, not one per message. Each report is fenced:
only attempts the session currently runs are heard."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from hodei_api import v1
from hodei_api.loglines import check, concat, with_attempt
from hodeid.control.ledger import Ledger
from hodeid.control.loghub import LogHub
from hodeid.control.registry import Session
from hodeid.control.scheduler import Scheduler
from hodeid.control.settle import Settler
from hodeid.domain.states import ACTIVE
from hodeid.store.jobs import AttemptEnd, JobStore
from hodeid.store.logs import LogStore

log = logging.getLogger(__name__)


class Reports:
    def __init__(
        self,
        scheduler: Scheduler,
        ledger: Ledger,
        settler: Settler,
        jobs: JobStore,
        logs: LogStore,
        hub: LogHub,
    ) -> None:
        self.scheduler = scheduler
        self.ledger = ledger
        self.settler = settler
        self.jobs = jobs
        self.logs = logs
        self.hub = hub

    async def apply(self, session: Session, messages: list[v1.WorkerMessage]) -> None:
        """Apply reports that arrived together: logs first (a job's lines are stored before
        its end is), then starts, then ends."""
        lines: dict[str, list[v1.LogLines]] = {}
        started: list[tuple[str, int, datetime]] = []
        ends: list[AttemptEnd] = []
        for message in messages:
            if (batch := message.log_batch) is not None:
                if self._current(session, batch.job_id, batch.attempt, "LogBatch"):
                    if (checked := _lines_of(session, batch)) is not None:
                        lines.setdefault(batch.job_id, []).append(checked)
            elif (accepted := message.accepted) is not None:
                self.ledger.acknowledged((accepted.job_id, accepted.attempt))
                if self._current(session, accepted.job_id, accepted.attempt, "Accepted"):
                    when = accepted.started_at or datetime.now(UTC)
                    started.append((accepted.job_id, accepted.attempt, when))
            elif (finished := message.finished) is not None:
                self.ledger.acknowledged((finished.job_id, finished.attempt))
                if self._current(session, finished.job_id, finished.attempt, "Finished"):
                    ends.append(_end_of(finished))
            elif (rejected := message.rejected) is not None:
                self.ledger.acknowledged((rejected.job_id, rejected.attempt))
                if self._current(session, rejected.job_id, rejected.attempt, "Rejected"):
                    reason = f"worker {session.worker_id} refused it: {rejected.reason}"
                    ends.append(
                        AttemptEnd(
                            rejected.job_id,
                            rejected.attempt,
                            v1.AttemptOutcome.NOT_ACKNOWLEDGED,
                            reason=reason,
                        )
                    )
        for job_id, parts in lines.items():
            # Kept in columns from the wire to storage and to the followers: no object per line.
            job_lines = concat(parts)
            await self.logs.append(job_id, job_lines)
            self.hub.publish(job_id, job_lines)
        # An attempt that ended in the same batch starts at its settlement: one write, not two.
        ending = {(end.job_id, end.attempt) for end in ends}
        if started := [s for s in started if (s[0], s[1]) not in ending]:
            await self.jobs.mark_running(started)
        if ends:
            # Settling frees the slots before it writes: let the scheduler refill them meanwhile.
            self.scheduler.slots_freed()
            settled = await self.settler.end(ends, ACTIVE)
            if any(s.state is v1.JobState.PENDING or s.waited_on for s in settled):
                self.scheduler.wake()  # a retry queued, or jobs that waited on these may run

    def _current(self, session: Session, job_id: str, attempt: int, what: str) -> bool:
        if self.ledger.holds(session, (job_id, attempt)):
            return True
        log.warning(
            "worker %s: %s for job %s attempt %d refused (stale attempt)",
            session.worker_id, what, job_id, attempt,
        )  # fmt: skip
        return False


def _lines_of(session: Session, batch: v1.LogBatch) -> v1.LogLines | None:
    """The batch's lines, filed under its attempt; None if there are none or the batch is
    malformed, which costs the worker these lines rather than its stream."""
    lines = batch.lines or v1.LogLines()
    try:
        count = check(lines)
    except ValueError as exc:
        log.warning(
            "worker %s: LogBatch for job %s attempt %d refused: %s",
            session.worker_id, batch.job_id, batch.attempt, exc,
        )  # fmt: skip
        return None
    return with_attempt(lines, batch.attempt) if count else None


def _end_of(body: v1.Finished) -> AttemptEnd:
    if body.reason:
        reason = body.reason
    elif body.signal is not None:
        reason = f"killed by signal {body.signal}"
    elif body.exit_code is not None:
        reason = f"exited with code {body.exit_code}"
    else:
        reason = body.outcome.name.lower()
    return AttemptEnd(
        body.job_id, body.attempt, body.outcome, body.exit_code, body.signal, reason,
        body.started_at, body.finished_at or datetime.now(UTC), body.usage,
    )  # fmt: skip
