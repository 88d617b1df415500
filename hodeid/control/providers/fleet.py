"""The provisioned fleet: every provider, the workers each has created, and the rules that
create and stop them (the arithmetic is in ``hodeid.domain.scaling``).

A shared provider's workers belong to the cluster: the leader creates them, and each is
recorded in the database with its join token (by the provider that created it). A daemon
that takes the lead takes over the ones it does not know, and one that stops leading
forgets them without destroying them."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Collection, Coroutine, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from hodei_api import v1
from hodeid.control.providers.base import Provider
from hodeid.control.registry import Registry
from hodeid.control.tokens import JoinTokens, digest
from hodeid.domain import scaling
from hodeid.domain.placement import JobNeeds, Verdict
from hodeid.domain.scaling import ProviderState
from hodeid.errors import ProviderError, StoreError

log = logging.getLogger(__name__)

# On shutdown, how long creates and destroys under way may take before the rest are
# destroyed; a daemon is expected to stop within seconds.
CLOSE_WAIT = 3.0


@dataclass
class Member:
    """One worker a provider created."""

    worker_id: str
    provider: Provider
    token_digest: bytes
    """The sha256 of its one-time token (empty until it is issued), which revokes it."""
    created_at: float
    connected: bool = False
    """It presented its token: it joined (its session may not be in the registry yet)."""
    seen_live: bool = False
    idle_since: float | None = None
    stopping: bool = False
    gone_since: float | None = None
    """When its stream went away; it may come back (with its resume token) for a while."""


@dataclass
class Health:
    """A provider's failures in a row, the latest one, and when it may try again."""

    failures: int = 0
    last_error: str = ""
    retry_at: float = 0.0


async def _alone() -> bool:
    return False


class Fleet:
    """The providers the scheduler consults, and the workers they created."""

    def __init__(
        self,
        providers: Sequence[Provider],
        registry: Registry,
        tokens: JoinTokens,
        clock: Callable[[], float] = time.monotonic,
        leading: Callable[[], bool] = lambda: True,
        elsewhere: Callable[[], Collection[str]] = frozenset,
        others_run: Callable[[], Awaitable[bool]] = _alone,
    ) -> None:
        self.providers = {p.name: p for p in providers}
        # Whether this daemon leads the cluster: only the leader creates shared providers' workers.
        self.leading = leading
        self._led = False
        # Counts the changes of lead, so that a take-over finishing late knows it is stale.
        self._term = 0
        # Until the shared providers' workers created before this daemon led are known, it
        # creates none (they count against max).
        self._taking_over = False
        # Whether another daemon's lease holds: then, on close, the shared providers' workers
        # are left to the next leader.
        self.others_run = others_run
        # The workers streaming to other daemons sharing the database.
        self.elsewhere = elsewhere
        self.registry = registry
        self.tokens = tokens
        self.clock = clock
        self.members: dict[str, Member] = {}
        self.health = {name: Health() for name in self.providers}
        self._tasks: set[asyncio.Task[None]] = set()
        self.changes = 0
        """Counts every worker created, joined, failed or removed: a scheduler that did not
        look for a while still sees that the providers changed meanwhile."""

    def states(self) -> list[ProviderState]:
        """Each provider as the scheduler sees it now, in configuration order."""
        now = self.clock()
        return [self._state(p, now) for p in self.providers.values()]

    def _state(self, p: Provider, now: float) -> ProviderState:
        mine = [m for m in self.members.values() if m.provider is p]
        connected = sum(m.connected for m in mine)
        health = self.health[p.name]
        return ProviderState(
            p.name, p.offer, p.limits.min, p.limits.max,
            provisioning=len(mine) - connected, connected=connected,
            last_error=health.last_error, retry_in=max(0.0, health.retry_at - now),
        )  # fmt: skip

    @staticmethod
    def verdicts(states: Sequence[ProviderState]) -> Callable[[JobNeeds], list[Verdict]]:
        """The providers' verdicts on a job, for ``place``."""
        return lambda job: [scaling.verdict(job, s) for s in states]

    def room(self, states: Sequence[ProviderState]) -> int:
        """Slots the providers could still add now (0 at max or while backing off)."""
        return sum(max(0, s.max - s.total) * s.offer.slots for s in states if not s.retry_in)

    def scale(self, demand: Mapping[str, int]) -> None:
        """Create workers for the jobs placement sent to each provider (``PROVISION``); the
        workers already provisioning count against that demand, and ``max`` is never passed.
        A shared provider's workers are created by the cluster's leader alone (the other
        daemons see the same queue, and the same demand), once it knows the ones there are
        (``tick`` notices it leads, and takes over the workers created before)."""
        now = self.clock()
        leading = self.leading() and self._led and not self._taking_over
        for p in self.providers.values():
            if p.shared and not leading:
                continue
            for _ in range(scaling.workers_to_create(demand.get(p.name, 0), self._state(p, now))):
                worker_id = f"{p.name}-{secrets.token_hex(4)}"
                member = Member(worker_id, p, b"", now)  # its token is issued as it is created
                self.members[worker_id] = member
                self.changes += 1
                self._spawn(self._create(member), f"create {worker_id}")

    async def _create(self, member: Member) -> None:
        try:
            token = await self.tokens.issue(member.worker_id, member.provider.name)
            member.token_digest = digest(token)
            await member.provider.create(member.worker_id, token)
        except ProviderError as exc:
            # A create that outlived the provisioning timeout has been counted as failed already.
            if self.members.get(member.worker_id) is member:
                self._failed(member, exc.message)

    def tick(self) -> None:
        """Follow the workers created: connected, idle, gone, or failed to connect in time;
        stop the ones idle too long; keep each provider at its ``min``."""
        now = self.clock()
        if (leading := self.leading()) != self._led:
            # The shared providers' workers are this daemon's to create now, or no longer.
            self._led = leading
            self._term += 1
            self.changes += 1
            if not leading:
                self._forget_shared()
            elif any(p.shared for p in self.providers.values()):
                self._taking_over = True
                self._spawn(self._take_over(self._term), "take over the shared providers' workers")
        elsewhere = self.elsewhere()
        for member in list(self.members.values()):
            session = self.registry.get(member.worker_id)
            live = session is not None and not session.closed
            away = member.worker_id in elsewhere
            timeout = member.provider.limits.provisioning_timeout
            waited = now - member.created_at
            if not member.connected and (live or away or self.tokens.consumed(member.token_digest)):
                member.connected = True
                self.changes += 1
                self.health[member.provider.name] = Health(
                    last_error=self.health[member.provider.name].last_error
                )
            if session is not None and live:
                member.seen_live = True
                member.gone_since = None
                busy = session.running or session.draining
                member.idle_since = None if busy else member.idle_since or now
            elif away:
                # Its stream is on another daemon sharing the database: it lives, and whether
                # it is idle is for that daemon to see.
                member.seen_live = True
                member.gone_since = member.idle_since = None
            elif member.seen_live and not member.stopping and (member.gone_since or now) + timeout > now:
                # A dropped stream: the worker reconnects with its resume token, and gets as
                # long to come back as it had to connect the first time.
                member.gone_since = member.gone_since or now
            elif member.seen_live or (member.connected and waited >= timeout):
                log.info("provisioned worker %s is gone; destroying it", member.worker_id)
                self._remove(member)
            elif member.connected:
                continue  # joined a moment ago; its session is on its way into the registry
            elif (why := member.provider.exited(member.worker_id)) is not None:
                self._failed(member, f"worker {member.worker_id} {why} before connecting")
            elif waited >= timeout:
                self._failed(member, f"worker {member.worker_id} did not connect within {timeout:g} s")
        for p in self.providers.values():
            self._stop_idle(p, now)
        self.scale({})

    async def _take_over(self, term: int) -> None:
        """Follow the shared providers' workers that were created before this daemon led (by
        the leader before it, or by this daemon before it restarted): each gets a provisioning
        timeout from now to be seen, and from then on the usual rules apply."""
        shared = [p.name for p in self.providers.values() if p.shared]
        try:
            found = await self.tokens.members(shared)
        except StoreError as exc:
            log.warning("cannot list the shared providers' workers: %s; trying again", exc.message)
            if term == self._term:
                self._led = False  # the next tick takes the lead again, and with it this
            return
        if term != self._term:
            return  # it stopped leading meanwhile
        now = self.clock()
        taken = [
            Member(row.worker_id, self.providers[row.provider], row.token_sha256, now, connected=row.joined)
            for row in found
            if row.worker_id not in self.members
        ]
        for member in taken:
            self.members[member.worker_id] = member
        if taken:
            ids = ", ".join(m.worker_id for m in taken)
            log.info("this daemon leads: it takes over the workers %s of shared providers", ids)
        self._taking_over = False
        self.changes += 1  # the shared providers may create workers now

    def _forget_shared(self) -> None:
        """Another daemon leads now, and takes the shared providers' workers over: this one
        forgets them, destroying none."""
        for member in [m for m in self.members.values() if m.provider.shared]:
            del self.members[member.worker_id]

    def _stop_idle(self, p: Provider, now: float) -> None:
        idle = sorted(
            (
                m
                for m in self.members.values()
                if m.provider is p and m.idle_since is not None and not m.stopping
            ),
            key=lambda m: m.idle_since or now,
        )
        stopping = sum(m.stopping for m in self.members.values() if m.provider is p)
        state = self._state(p, now)
        # Workers already stopping are on their way out: min counts only the ones staying.
        staying = replace(state, connected=state.connected - stopping)
        count = scaling.idle_to_stop(
            [now - (m.idle_since or now) for m in idle], staying, p.limits.idle_timeout
        )
        for member in idle[:count]:
            session = self.registry.get(member.worker_id)
            if session is None:
                continue
            log.info(
                "worker %s idle for %.0f s; draining it", member.worker_id, now - (member.idle_since or now)
            )
            member.stopping = True
            session.draining = True
            session.send(v1.DaemonMessage(drain=v1.Drain(stay=False)))

    def _failed(self, member: Member, error: str) -> None:
        self.changes += 1
        health = self.health[member.provider.name]
        health.failures += 1
        health.last_error = error
        delay = scaling.retry_delay(health.failures)
        health.retry_at = self.clock() + delay
        log.warning("provider %s: %s; next try in %.0f s", member.provider.name, error, delay)
        self._remove(member)

    def _remove(self, member: Member) -> None:
        self.changes += 1
        self.members.pop(member.worker_id, None)
        self._spawn(self.tokens.revoke(member.token_digest), f"revoke {member.worker_id}'s tokens")
        self._spawn(self._destroy(member), f"destroy {member.worker_id}")

    async def _destroy(self, member: Member) -> None:
        try:
            await member.provider.destroy(member.worker_id)
        except ProviderError as exc:
            self.health[member.provider.name].last_error = exc.message
            log.warning("provider %s: %s", member.provider.name, exc.message)

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        # Creating and destroying run beside the scheduler: a slow command must not stall it.
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def info(self) -> list[v1.ProviderInfo]:
        """What ``hodei provider list`` shows."""
        now = self.clock()
        idle = Counter(m.provider.name for m in self.members.values() if m.idle_since is not None)
        result = []
        for p in self.providers.values():
            state = self._state(p, now)
            result.append(
                v1.ProviderInfo(
                    name=p.name, kind=p.kind, min=p.limits.min, max=p.limits.max,
                    provisioning=state.provisioning, connected=state.connected, idle=idle[p.name],
                    last_error=state.last_error, retry_in_seconds=state.retry_in,
                    failures=self.health[p.name].failures, labels=dict(p.offer.labels), slots=p.offer.slots,
                )
            )  # fmt: skip
        return result

    async def close(self) -> None:
        """The daemon stops: every worker created is destroyed, and its tokens revoked; but
        while another daemon runs, the shared providers' workers are left to the next leader."""
        if self._tasks:
            # Let destroys finish (a destroyed worker's process must not be left behind),
            # but do not wait for ever on a create command that hangs.
            _, pending = await asyncio.wait(set(self._tasks), timeout=CLOSE_WAIT)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        members, self.members = list(self.members.values()), {}
        if any(m.provider.shared for m in members) and await self._others_run():
            left = [m.worker_id for m in members if m.provider.shared]
            log.info("another daemon runs: the workers %s are left to the next leader", ", ".join(left))
            members = [m for m in members if not m.provider.shared]
        await asyncio.gather(
            *(self._destroy(m) for m in members), *(self.tokens.revoke(m.token_digest) for m in members)
        )

    async def _others_run(self) -> bool:
        try:
            return await self.others_run()
        except StoreError as exc:
            # No process left behind: without a word from the database, no other daemon is
            # known to take the workers over.
            log.warning("cannot tell whether another daemon runs (%s): destroying every worker", exc.message)
            return False
