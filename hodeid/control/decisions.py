"""The decision log: every distinct placement decision of a job is kept (a job waiting for an
hour for the same reasons writes one row, not thousands), streamed to watchers, and
explained on request."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from hodei_api import v1
from hodeid.control.decision_writer import DecisionWriter
from hodeid.domain.placement import Decision, Outcome, Reason, Strategy, Verdict
from hodeid.metrics import DECISIONS
from hodeid.store.decisions import DecisionRow, DecisionStore

Signature = tuple[Outcome, str | None, tuple[tuple[str, Reason], ...]]
# Jobs whose latest decision is remembered in memory, to tell a new decision from a repeat.
REMEMBERED = 100_000
PRUNE_EVERY = 60.0
# How long a read of the trace waits for this daemon's queued decisions before it reads what
# is stored (their write retries while the database is away).
FLUSH_WAIT = 5.0
# How long a stopping daemon waits for its queued decisions to be stored.
STOP_WAIT = 5.0


def signature(decision: Decision) -> Signature:
    """What makes a decision new: its outcome, its worker, and each target's reason."""
    return decision.outcome, decision.worker_id, tuple((v.target, v.reason) for v in decision.verdicts)


def leading_reason(decision: Decision) -> str:
    """``FITS`` for a placed job, else the reason given most often (``NONE`` with no verdicts)."""
    if decision.outcome is Outcome.PLACED:
        return Reason.FITS.name
    histogram = decision.histogram
    return max(sorted(histogram), key=histogram.__getitem__) if histogram else "NONE"


def to_row(decision: Decision, at: datetime, daemon_id: str) -> DecisionRow:
    return DecisionRow(
        decision.job_id, at, decision.outcome.name, decision.worker_id, str(decision.strategy),
        decision.duration_ms, [[v.target, v.kind, v.reason.name, v.message, v.could_fit, v.score]
                               for v in decision.verdicts], daemon_id,
    )  # fmt: skip


def from_row(row: DecisionRow) -> Decision:
    verdicts = tuple(
        Verdict(target, kind, Reason[reason], message, could_fit, score)
        for target, kind, reason, message, could_fit, score in row.verdicts
    )
    return Decision(
        row.job_id, Outcome[row.outcome], Strategy(row.strategy), verdicts, row.worker_id, row.duration_ms
    )


def to_proto(decision: Decision, at: datetime, daemon_id: str) -> v1.Decision:
    """The decision made (or evaluated) at ``at`` by daemon ``daemon_id``."""
    evaluated, eligible, filtered, exhausted = decision.counts
    return v1.Decision(
        job_id=decision.job_id,
        outcome=decision.outcome,
        worker_id=decision.worker_id or "",
        strategy=str(decision.strategy),
        verdicts=[
            v1.Verdict(target=v.target, kind=v.kind, reason=v.reason, message=v.message,
                       could_fit=v.could_fit, score=v.score)
            for v in decision.verdicts
        ],
        histogram=decision.histogram,
        decided_at=at,
        duration_ms=decision.duration_ms,
        evaluated=evaluated,
        eligible=eligible,
        filtered=filtered,
        exhausted=exhausted,
        summary=decision.summary(),
        daemon_id=daemon_id,
    )  # fmt: skip


@dataclass(eq=False)
class Watcher:
    job_id: str  # empty for every job
    queue: asyncio.Queue[v1.Decision] = field(default_factory=lambda: asyncio.Queue(maxsize=1024))


class DecisionLog:
    def __init__(self, store: DecisionStore, keep: int, daemon_id: str) -> None:
        self.store = store
        self.writer = DecisionWriter(store)
        self.keep = keep
        self.daemon_id = daemon_id
        self._last: OrderedDict[str, Signature] = OrderedDict()
        self._watchers: set[Watcher] = set()
        self._next_prune = time.monotonic() + PRUNE_EVERY

    async def record(self, decisions: list[Decision]) -> None:
        """Stream the decisions that differ from each job's previous one, and hand them to the
        writer to store."""
        now = datetime.now(UTC)
        rows = []
        for decision in decisions:
            sig = signature(decision)
            if self._last.get(decision.job_id) == sig:
                continue
            if decision.outcome is Outcome.PLACED:
                # Placed: any later decision (a retry) is news, whatever it says.
                self._last.pop(decision.job_id, None)
            else:
                self._remember(decision.job_id, sig)
            rows.append(to_row(decision, now, self.daemon_id))
            self._publish(to_proto(decision, now, self.daemon_id))
            DECISIONS.labels(outcome=decision.outcome.name, reason=leading_reason(decision)).inc()
        self.writer.add(rows)
        if time.monotonic() >= self._next_prune:
            self._next_prune = time.monotonic() + PRUNE_EVERY
            await self.store.prune(self.keep)

    async def history(self, job_id: str) -> list[v1.Decision]:
        """The job's stored decisions, newest first (those this daemon made before the call
        included: it waits for their write)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(FLUSH_WAIT):
                await self.writer.flush()
        return [
            to_proto(from_row(r), r.decided_at, r.daemon_id or "")
            for r in await self.store.of_job(job_id, self.keep)
        ]

    async def watch(self, job_id: str) -> AsyncGenerator[v1.Decision]:
        """Decisions as they are recorded (one job's, or every job's with an empty id)."""
        watcher = Watcher(job_id)
        self._watchers.add(watcher)
        try:
            while True:
                yield await watcher.queue.get()
        finally:
            self._watchers.discard(watcher)

    def _remember(self, job_id: str, sig: Signature) -> None:
        self._last[job_id] = sig
        self._last.move_to_end(job_id)
        while len(self._last) > REMEMBERED:
            self._last.popitem(last=False)

    def _publish(self, decision: v1.Decision) -> None:
        for watcher in self._watchers:
            if watcher.job_id in ("", decision.job_id):
                if watcher.queue.full():
                    # A watcher that does not keep up loses the oldest decisions, never the newest.
                    watcher.queue.get_nowait()
                watcher.queue.put_nowait(decision)
