"""Ending attempts: record the outcome, move the job on (retry or terminal), free the slot,
and tell followers. The one path every attempt end goes through, whoever reports it."""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence

from hodei_api import v1
from hodeid.control.ledger import Ledger
from hodeid.control.loghub import LogHub
from hodeid.domain.retry import final
from hodeid.domain.retry import settle as decide_retry
from hodeid.domain.states import ACTIVE, is_terminal
from hodeid.metrics import (
    ATTEMPT_CPU_SYSTEM,
    ATTEMPT_CPU_USER,
    ATTEMPT_MAX_RSS,
    ATTEMPT_WALL,
    ATTEMPTS_MEASURED,
)
from hodeid.store.jobs import ActiveRow, AttemptEnd, JobStore, Settled

log = logging.getLogger(__name__)


def decide(row: ActiveRow, end: AttemptEnd) -> tuple[v1.JobState, int, float, str]:
    s = decide_retry(
        end.outcome,
        failures=row.failures,
        max_retries=row.max_retries,
        backoff=row.retry_backoff,
        reason=end.reason,
        jitter=random.random(),
        cancel=row.cancel_reason or "",
    )
    return s.state, s.add_failures, s.delay, s.reason


def count_usage(ends: Sequence[AttemptEnd], settled: Sequence[Settled]) -> None:
    """Add the usage of the attempts that were settled (not those fenced out: a Finished sent
    again counts once) to the Prometheus counters, by attempt outcome."""
    by_key = {(end.job_id, end.attempt): end for end in ends}
    for s in settled:
        end = by_key[(s.job_id, s.attempt)]
        if (usage := end.usage) is None:
            continue
        outcome = end.outcome.name
        ATTEMPTS_MEASURED.labels(outcome).inc()
        ATTEMPT_CPU_USER.labels(outcome).inc(max(0.0, usage.cpu_user_seconds))
        ATTEMPT_CPU_SYSTEM.labels(outcome).inc(max(0.0, usage.cpu_system_seconds))
        ATTEMPT_MAX_RSS.labels(outcome).inc(max(0, usage.max_rss_bytes))
        ATTEMPT_WALL.labels(outcome).inc(max(0.0, usage.wall_seconds))


class Settler:
    def __init__(self, jobs: JobStore, hub: LogHub, ledger: Ledger) -> None:
        self.jobs = jobs
        self.hub = hub
        self.ledger = ledger

    async def end(
        self, ends: Sequence[AttemptEnd], from_states: frozenset[v1.JobState] = ACTIVE
    ) -> list[Settled]:
        """Settle ``ends``; attempts that are no longer current are ignored (fenced)."""
        if not ends:
            return []
        # The slots are free on the worker already: free them here before the write, so the
        # scheduler can fill them while it is under way.
        for end in ends:
            if end.fence is None:
                self.ledger.release((end.job_id, end.attempt))
        states = sorted(from_states)
        # A worker's own report of a success or a cancel carried out settles its job whatever
        # the job's row says: one statement, no read and lock first.
        decided, rest = [], []
        for end in ends:
            known = final(end.outcome, end.reason) if end.fence is None else None
            if known is None:
                rest.append(end)
            else:
                decided.append((end, (known.state, known.add_failures, known.delay, known.reason)))
        settled = await self.jobs.settle_decided(decided, states)
        if rest:
            settled += await self.jobs.settle(rest, states, decide)
        count_usage(ends, settled)
        for s in settled:
            context = {"job_id": s.job_id, "attempt": s.attempt}
            log.info("job %s attempt %d -> %s", s.job_id, s.attempt, s.state.name, extra=context)
            if is_terminal(s.state):
                self.hub.finish(s.job_id, s.state)
        return settled
