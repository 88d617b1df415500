"""The controller loop: wakes on events (job submitted, worker connected, slot freed) or on
a short timer, claims PENDING jobs for live workers' free slots and dispatches them, asks the
providers for workers when none fits (the jobs stay PENDING, claimed by nobody, until those
connect); also returns unacknowledged dispatches and the attempts of lost workers."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from dataclasses import replace

from hodei_api import v1
from hodeid.config import SchedulerSettings
from hodeid.control.blocked import BlockedClasses
from hodeid.control.decisions import DecisionLog
from hodeid.control.lease import Lease
from hodeid.control.ledger import Ledger
from hodeid.control.providers.fleet import Fleet
from hodeid.control.registry import Registry
from hodeid.control.settle import Settler
from hodeid.domain import selectors
from hodeid.domain.classes import snapshot
from hodeid.domain.placement import (
    Decision,
    JobNeeds,
    Outcome,
    Policy,
    Strategy,
    WorkerState,
    place,
    place_batch,
)
from hodeid.domain.scaling import ProviderState
from hodeid.errors import StoreError
from hodeid.store.holders import HolderStore
from hodeid.store.jobs import AttemptEnd, JobStore, PendingJob

log = logging.getLogger(__name__)


# What the daemon assumes of a job's kill grace when the job set none: hodei-worker's default.
WORKER_KILL_GRACE = 10.0


def cancel_message(job_id: str, attempt: int, grace: float, reason: str) -> v1.DaemonMessage:
    return v1.DaemonMessage(
        cancel=v1.CancelAttempt(job_id=job_id, attempt=attempt, grace_seconds=grace, reason=reason)
    )


def needs_of(job: PendingJob) -> JobNeeds:
    return JobNeeds(job.id, selectors.parse(job.selector), job.cpu, job.memory_mb)


def demand(decisions: list[Decision]) -> Counter[str]:
    """How many jobs wait for a worker from each provider."""
    return Counter(chosen.target for d in decisions if (chosen := d.provisioner) is not None)


class Scheduler:
    def __init__(
        self,
        settings: SchedulerSettings,
        jobs: JobStore,
        registry: Registry,
        settler: Settler,
        decisions: DecisionLog,
        fleet: Fleet,
        ledger: Ledger,
        holders: HolderStore,
        lease: Lease,
    ) -> None:
        self.settings = settings
        self.jobs = jobs
        self.registry = registry
        self.ledger = ledger
        self.holders = holders
        self.lease = lease
        self.settler = settler
        self.decisions = decisions
        self.fleet = fleet
        self.policy = Policy(
            strategy=settings.strategy,
            heartbeat_stale_after=3 * settings.heartbeat_interval_seconds,
        )
        self._next_reap = 0.0
        self._wake = asyncio.Event()
        self._events = 0
        # Until then (monotonic) the queue is known to hold nothing to claim: a claim found
        # nothing, and no event since may have queued any. Never longer than a tick, so work
        # no event announces (a retry's backoff running out, another daemon's submission) is
        # looked for as often as before.
        self._nothing_until = 0.0
        self.blocked = BlockedClasses()

    def wake(self) -> None:
        """Ask for a scheduling pass now: something may have become claimable (a job queued,
        a worker came, a dependency ended). Events are the fast path; the timer the safety net."""
        self._events += 1
        self._nothing_until = 0.0
        self._wake.set()

    def slots_freed(self) -> None:
        """Ask for a pass to fill slots that came free, which queues nothing: if the last claim
        found the queue empty, and nothing queued since, the pass does not ask the database."""
        self._wake.set()

    async def run(self) -> None:
        while True:
            # asyncio.timeout, not wait_for: Python 3.11's wait_for can swallow a cancel that
            # arrives as the wake-up does, and the daemon would then never stop.
            try:
                async with asyncio.timeout(self.settings.tick_seconds):
                    await self._wake.wait()
            except TimeoutError:
                self._nothing_until = 0.0  # the timer, the safety net, always looks
            self._wake.clear()
            try:
                self.fleet.tick()
                await self.expire_unacknowledged()
                await self.reap_lost()
                await self.schedule()
            except StoreError as exc:
                # The database went away, or refused a statement (a bug, logged with its
                # traceback): keep the loop alive and retry on the next tick.
                log.warning("scheduling pass failed: %s", exc)

    async def schedule(self) -> None:
        """Fill the free slots. Each pass looks at a window of the queue a few times the free
        slots wide, leaving out the placement classes known to fit nowhere; a class that fits
        nowhere in one pass is left out of the next, so jobs that fit nowhere, however many,
        do not hold back the ones behind them."""
        while True:
            free = sum(max(0, s.hello.slots - len(s.running)) for s in self.registry.live() if not s.draining)
            if not free:
                # No slot to fill, but the providers may make some: one look at the queue
                # tells them how many (and costs nothing when they are at max or backing off).
                if room := self.fleet.room(self.fleet.states()):
                    await self.schedule_pass(min(self.settings.claim_batch, max(16, 4 * room)))
                return
            if time.monotonic() < self._nothing_until:
                return
            window = min(self.settings.claim_batch, max(16, 4 * free))
            placed, seen, blocked = await self.schedule_pass(window)
            # Every job looked at was placed or its class is now skipped: a short window saw
            # all there is, and a full one is worth another look only if this one got somewhere.
            if seen < window or not (placed or blocked):
                return

    async def schedule_pass(self, window: int) -> tuple[int, int, int]:
        """Claim and dispatch what fits among the first ``window`` PENDING jobs of the classes
        not skipped; skip from now on the classes of those that did not fit. Return how many
        jobs were dispatched and looked at, and how many classes were newly skipped."""
        now = time.monotonic()
        events = self._events
        live = self.registry.live()
        states: list[WorkerState] = []

        def workers() -> list[WorkerState]:
            """The live workers as placement sees them, made when first needed: a pass that
            skips no class and finds the queue empty (every tick of an idle daemon) makes
            none, whatever the size of its fleet."""
            if not states:
                states.extend(s.state(now) for s in live)
            return states

        fleet, changes = self.fleet.states(), self.fleet.changes
        providers = self.fleet.verdicts(fleet)
        stale_after = self.policy.heartbeat_stale_after
        if len(self.blocked) and (
            reopened := self.blocked.reopen(snapshot(workers(), fleet, stale_after, changes))
        ):
            log.debug("%d placement class(es) may fit now; looking at them again", reopened)
        needs: dict[str, JobNeeds] = {}
        classes: dict[str, str] = {}
        decisions: list[Decision] = []

        def placer(pending: list[PendingJob]) -> list[tuple[str, str]]:
            for job in pending:
                needs[job.id] = needs_of(job)
                classes[job.id] = job.placement_class
            decisions.extend(
                place_batch(list(needs.values()), workers(), providers, self.policy, time.perf_counter)
            )
            return [(d.job_id, d.worker_id) for d in decisions if d.worker_id]

        streams = {s.worker_id: s.id for s in live}
        assignments = await self.jobs.claim(
            window, placer, streams, self.lease.daemon_id, self.blocked.names()
        )
        if not needs and self._events == events:
            self._nothing_until = time.monotonic() + self.settings.tick_seconds
        self.fleet.scale(demand(decisions))
        if self.policy.strategy is Strategy.ROUND_ROBIN and assignments:
            self.policy = replace(self.policy, cursor=self.policy.cursor + len(assignments))
        blocked = self._block(decisions, classes, needs, states, (fleet, changes))
        deadline = time.monotonic() + self.settings.dispatch_timeout_seconds
        for a in assignments:
            key = (a.job.id, a.job.attempt)
            session = self.registry.get(a.job.worker_id)
            if session is None or session.closed or session.id != streams[a.job.worker_id]:
                # The stream it was claimed for ended while we claimed: the attempt was never
                # sent. Not on the worker's newer stream either: that stream's Hello may have
                # been judged already, and found the worker without it.
                reason = f"worker {a.job.worker_id} went away before dispatch"
                end = AttemptEnd(*key, v1.AttemptOutcome.NOT_ACKNOWLEDGED, reason=reason)
                await self.settler.end([end])
                continue
            self.ledger.hold(session, key, needs[a.job.id], ack_by=deadline)
            session.send(
                v1.DaemonMessage(
                    run_job=v1.RunJob(
                        job_id=a.job.id,
                        attempt=a.job.attempt,
                        spec=a.job.spec,
                        first_seq=a.first_seq,
                    )
                )
            )
            log.debug("job %s attempt %d dispatched to %s", a.job.id, a.job.attempt, session.worker_id)
        # Stored once the jobs are on their way: the trace keeps every decision, and a worker
        # need not wait for it to start.
        await self.decisions.record(decisions)
        return len(assignments), len(needs), blocked

    def _block(
        self,
        decisions: list[Decision],
        classes: dict[str, str],
        needs: dict[str, JobNeeds],
        states: list[WorkerState],
        providers: tuple[list[ProviderState], int],
    ) -> int:
        """Skip the classes of the jobs that did not fit, judged on the workers as placement
        left them (the jobs it placed counted) and on the ``providers`` (their states, and the
        fleet's count of changes) it saw: any room made since then reopens them."""
        unplaced: dict[str, Outcome] = {}
        for d in decisions:
            if d.worker_id is None and unplaced.get(cls := classes[d.job_id]) in (None, Outcome.UNPLACEABLE):
                # One job of a class that could fit somewhere some day speaks for them all.
                unplaced[cls] = d.outcome
        if not unplaced:
            return 0
        after = {w.id: w for w in states}
        for d in decisions:
            if d.worker_id is not None:
                after[d.worker_id] = after[d.worker_id].with_job(needs[d.job_id])
        before = len(self.blocked)
        fleet, changes = providers
        judged = snapshot(list(after.values()), fleet, self.policy.heartbeat_stale_after, changes)
        self.blocked.block(unplaced, judged)
        return len(self.blocked) - before

    def evaluate(self, job: v1.Job) -> Decision:
        """Where ``job`` would go now, and why (for explaining a job that waits)."""
        spec = job.spec or v1.JobSpec()
        resources = spec.resources or v1.Resources()
        needs = JobNeeds(job.id, selectors.parse(spec.selector), resources.cpu, resources.memory_mb)
        now = time.monotonic()
        states = [s.state(now) for s in self.registry.live()]
        providers = self.fleet.verdicts(self.fleet.states())
        started = time.perf_counter()
        decision = place(needs, states, providers(needs), self.policy)
        return replace(decision, duration_ms=(time.perf_counter() - started) * 1000)

    async def expire_unacknowledged(self) -> None:
        ends = []
        for key in self.ledger.overdue(time.monotonic()):
            self.ledger.acknowledged(key)  # given up: not expired twice
            session = self.ledger.holder(key)
            worker = session.worker_id if session else "the worker"
            if session is not None:
                # It may still arrive late: make sure the worker does not run it anyway.
                cancel = v1.CancelAttempt(job_id=key[0], attempt=key[1], reason="not acknowledged in time")
                session.send(v1.DaemonMessage(cancel=cancel))
            reason = (
                f"{worker} did not acknowledge within {self.settings.dispatch_timeout_seconds:g} s; requeued"
            )
            ends.append(AttemptEnd(*key, v1.AttemptOutcome.NOT_ACKNOWLEDGED, reason=reason))
        if await self.settler.end(ends, frozenset({v1.JobState.ASSIGNED})):
            self.wake()

    async def reap_lost(self) -> None:
        """Attempts no live worker stream on any daemon has held for longer than the grace:
        LOST. Sooner, one past its timeout and kill grace there: TIMED_OUT (the worker would
        have killed it by then, and cannot say so). The store judges by the database's clock
        and each stream's daemon's lease (hodeid.store.holders); this daemon looks at its own
        streams' attempts, the leader at everyone's. A verdict is fenced: if the worker
        brought the attempt to a new stream meanwhile, it stands."""
        now = time.monotonic()
        grace = self.settings.lost_grace_seconds
        if now < self._next_reap:
            return
        self._next_reap = now + max(1.0, grace / 4)
        await self.lease.sync_streams()
        ends = []
        for held in await self.holders.absent(self.lease.daemon_id, self.lease.leading):
            key = (held.job_id, held.attempt)
            gone = held.absent_seconds
            deadline = held.timeout + (held.kill_grace or WORKER_KILL_GRACE)
            if held.timeout and held.running_seconds is not None and held.running_seconds >= deadline:
                reason = (
                    f"timed out after {held.timeout:g} s on worker {held.worker_id}, "
                    f"which has been unreachable for {gone:.0f} s"
                )
                ends.append(
                    AttemptEnd(*key, v1.AttemptOutcome.TIMED_OUT, reason=reason, fence=held.session_id)
                )
            elif gone >= grace:
                reason = f"worker {held.worker_id} lost: no stream for {gone:.0f} s"
                ends.append(AttemptEnd(*key, v1.AttemptOutcome.LOST, reason=reason, fence=held.session_id))
        if await self.settler.end(ends):
            self.wake()
