"""This daemon's place among the daemons sharing the database: its lease, renewed by the
database's clock (a daemon whose clock is skewed changes nothing), the record of which worker
streams it holds, and whether it leads the cluster duties.

A daemon that cannot renew its lease in time ends its worker streams: the other daemons may
already treat them as gone, and the workers reconnect to a daemon whose lease holds."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from hodeid.control.registry import Registry
from hodeid.errors import HodeiError, StoreError
from hodeid.store.daemons import DaemonStore
from hodeid.store.leadership import LeaderLock

log = logging.getLogger(__name__)

# Daemons whose lease ended longer ago than this are forgotten (by the leader).
FORGET_SECONDS = 24 * 3600.0


class VersionMismatch(HodeiError):
    """Another live daemon on the database is of another version."""


class Lease:
    def __init__(
        self,
        store: DaemonStore,
        leader: LeaderLock,
        registry: Registry,
        daemon_id: str,
        address: str,
        version: str,
        seconds: float,
        on_lapse: Callable[[], None],
    ) -> None:
        self.store = store
        self.lock = leader
        self.registry = registry
        self.daemon_id = daemon_id
        self.address = address
        self.version = version
        self.seconds = seconds
        self.on_lapse = on_lapse
        self.leading = False
        self.elsewhere: frozenset[str] = frozenset()
        """The workers streaming to the other live daemons, as of the last renewal."""
        self._renewed = time.monotonic()
        # Streams being recorded that are not in the registry yet, and the lock that keeps
        # sync_streams from ending one of them (see ``opening``).
        self._opening: set[str] = set()
        self._syncing = asyncio.Lock()

    async def acquire(self) -> None:
        """Take a lease; refuse to run beside a live daemon of another version."""
        peers = await self.store.register(self.daemon_id, self.address, self.version, self.seconds)
        self._renewed = time.monotonic()
        if others := [p for p in peers if p.version != self.version]:
            await self.store.stop(self.daemon_id)
            other = others[0]
            raise VersionMismatch(
                f"hodeid {other.version} (daemon {other.id[:8]} at {other.address}) runs on this "
                f"database, and this is hodeid {self.version}: daemons sharing a database must be "
                "of one version. Stop every daemon before upgrading, then start the new version "
                f"(a daemon killed without stopping holds its lease for up to {self.seconds:g} s)"
            )
        await self._lead()

    async def run(self) -> None:
        """Renew the lease a few times within its length; check the lead."""
        while True:
            await asyncio.sleep(self.seconds / 3)
            try:
                # A renewal that hangs (the database unreachable) is given up before the lease
                # could run out unnoticed.
                async with asyncio.timeout(self.seconds / 3):
                    await self._renew()
            except (StoreError, TimeoutError) as exc:
                why = exc.message if isinstance(exc, StoreError) else "the database did not answer in time"
                log.warning("cannot renew this daemon's lease: %s", why)
                if time.monotonic() - self._renewed > self.seconds:
                    self._lapse(f"not renewed for {self.seconds:g} s")

    async def _renew(self) -> None:
        lapsed = await self.store.renew(self.daemon_id, self.seconds)
        if lapsed is None:
            # Stopped, or forgotten after a long lapse: take the lease again.
            await self.store.register(self.daemon_id, self.address, self.version, self.seconds)
        if lapsed is not False:
            self._lapse("it ran out before it was renewed")
        self._renewed = time.monotonic()
        await self.sync_streams()
        self.elsewhere = await self.store.workers_elsewhere(self.daemon_id)
        await self._lead()

    def _lapse(self, why: str) -> None:
        if self.registry.live():
            log.warning("this daemon's lease lapsed (%s): ending its worker streams", why)
        self.on_lapse()

    async def _lead(self) -> None:
        leading = await self.lock.acquire()
        if leading != self.leading:
            log.info("this daemon %s the cluster duties", "leads" if leading else "no longer leads")
            self.leading = leading
        await self.store.record_lead(self.daemon_id, leading)
        if leading:
            await self.store.prune(FORGET_SECONDS)

    async def sync_streams(self) -> None:
        """Record as ended every stream of this daemon that is not live any more."""
        async with self._syncing:
            live = [s.id for s in self.registry.live()] + list(self._opening)
            await self.store.detach_others(self.daemon_id, live)

    @asynccontextmanager
    async def opening(self, session_id: str) -> AsyncIterator[None]:
        """Around recording a new stream and adding it to the registry: ``sync_streams`` does
        not end it meanwhile (the other daemons would take a live worker for gone). A stream
        that starts while a sync is under way waits for it to finish."""
        async with self._syncing:
            self._opening.add(session_id)
        try:
            yield
        finally:
            self._opening.discard(session_id)

    async def release(self) -> None:
        """End the lease, and with it every stream recorded under it; give up the lead."""
        self.leading = False
        await self.lock.release()
        await self.store.stop(self.daemon_id)
