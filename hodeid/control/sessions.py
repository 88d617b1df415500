"""Worker streams: Hello -> Welcome (resuming the attempts still current), heartbeats both
ways, and the worker's reports handed to ``Reports`` in batches."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator

import betterproto2
from grpclib.exceptions import GRPCError, ProtocolError, StreamTerminatedError

from hodei_api import v1
from hodei_api.worker_identity import provisioned
from hodeid.config import LimitSettings, SchedulerSettings
from hodeid.control.credentials import WorkerCredentials
from hodeid.control.lease import Lease
from hodeid.control.ledger import Ledger
from hodeid.control.registry import Registry, Session
from hodeid.control.reports import Reports
from hodeid.control.scheduler import Scheduler, cancel_message
from hodeid.control.settle import Settler
from hodeid.control.tokens import JoinTokens
from hodeid.domain.placement import JobNeeds
from hodeid.domain.states import ACTIVE
from hodeid.domain.validation import validate_worker
from hodeid.errors import Conflict, InvalidRequest, StoreError, Unauthenticated
from hodeid.metrics import WORKER_REFUSALS
from hodeid.store.holders import HolderStore
from hodeid.store.jobs import AttemptEnd
from hodeid.store.workers import WorkerStore

log = logging.getLogger(__name__)

HELLO_TIMEOUT = 10.0
NOT_TAKEN = v1.AttemptOutcome.NOT_ACKNOWLEDGED
# How long a reconnecting worker's Hello waits for its older stream's reports to be applied.
READER_GRACE = 10.0


class WorkerSessions:
    def __init__(
        self,
        settings: SchedulerSettings,
        lease: Lease,
        registry: Registry,
        ledger: Ledger,
        scheduler: Scheduler,
        settler: Settler,
        reports: Reports,
        holders: HolderStore,
        workers: WorkerStore,
        tokens: JoinTokens,
        credentials: WorkerCredentials,
        limits: LimitSettings,
    ) -> None:
        self.limits = limits
        self.settings = settings
        self.lease = lease
        self.registry = registry
        self.ledger = ledger
        self.scheduler = scheduler
        self.settler = settler
        self.reports = reports
        self.holders = holders
        self.workers = workers
        self.tokens = tokens
        self.credentials = credentials
        # The latest session of each worker whose reports are not all applied, the tasks that
        # read the streams, and those that apply what they read.
        self._readers: dict[str, Session] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._appliers: set[asyncio.Task[None]] = set()

    async def serve(self, messages: AsyncIterator[v1.WorkerMessage]) -> AsyncIterator[v1.DaemonMessage]:
        """The Connect stream: one live session from Hello until the stream ends."""
        try:
            first = await asyncio.wait_for(anext(messages), HELLO_TIMEOUT)
        except (TimeoutError, StopAsyncIteration) as exc:
            raise InvalidRequest(
                f"a worker must send Hello within {HELLO_TIMEOUT:g} s of connecting"
            ) from exc
        kind, hello = betterproto2.which_one_of(first, "kind")
        if kind != "hello" or not isinstance(hello, v1.Hello):
            raise InvalidRequest(f"the first message on a worker stream must be Hello, not {kind or 'empty'}")
        session, welcome = await self.attach(hello)
        yield v1.DaemonMessage(welcome=welcome)
        reader = asyncio.create_task(self._read(session, messages), name=f"read {session.worker_id}")
        self._readers[session.worker_id] = session
        self._tasks.add(reader)
        reader.add_done_callback(self._tasks.discard)
        beat = asyncio.create_task(self._heartbeat(session), name=f"heartbeat {session.worker_id}")
        try:
            while (message := await session.outbox.get()) is not None:
                yield message
        finally:
            beat.cancel()
            self.detach(session)
            # Stop reading at once (a stream cut or half-open may never end by itself): what
            # was read is still applied (a reconnecting worker's next session waits for that,
            # see attach), and what was not is unacknowledged, so the worker sends it again.
            reader.cancel()

    async def attach(self, hello: v1.Hello) -> tuple[Session, v1.Welcome]:
        if not hello.worker_id:
            raise InvalidRequest("Hello needs a worker_id")
        if hello.slots < 1:
            raise InvalidRequest(f"worker {hello.worker_id} offers {hello.slots} slots; at least 1 is needed")
        self._check_labels(hello)
        resume_token = await self._admit(hello)
        session = Session(hello)
        async with self.lease.opening(session.id):
            try:
                sessions = await self.workers.record_hello(hello, self.lease.daemon_id, session.id)
            except Conflict as exc:
                log.warning("%s", exc.message, extra={"worker_id": hello.worker_id})
                raise
            session.reconnects = sessions - 1
            if (old := self._readers.get(hello.worker_id)) is not None:
                # Let its older stream's reports land first, or they would look lost.
                if not old.closed:
                    log.warning("worker %s connected again; closing its older stream", hello.worker_id)
                old.close()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(old.drained.wait(), READER_GRACE)
            self.ledger.open(session)
            self.registry.add(session)
        stale = await self._adopt(session, hello.running)
        self.registry.changed(session.worker_id)  # its resumed attempts hold slots
        log.info(
            "worker %s connected (%d slots, labels %s, %d attempts resumed)",
            hello.worker_id, hello.slots, dict(hello.labels), len(session.running),
            extra={"worker_id": hello.worker_id},
        )  # fmt: skip
        self.scheduler.wake()
        welcome = v1.Welcome(
            session_id=session.id,
            daemon_id=self.lease.daemon_id,
            heartbeat_interval_seconds=self.settings.heartbeat_interval_seconds,
            stale=stale,
            resume_token=resume_token,
        )
        return session, welcome

    async def _admit(self, hello: v1.Hello) -> str:
        """Check the Hello's token and, for a worker that joined with the cluster token, that
        it may claim its id; returns the resume token, empty if none. A refused Hello changes
        nothing, and the id's live stream, if any, carries on."""
        reason = "token"
        try:
            resume_token = await self.tokens.admit(hello)
            if provisioned(hello.token):
                return resume_token
            reason = "credential"
            live = self.registry.get(hello.worker_id)
            await self.credentials.admit(hello, connected=live is not None and not live.closed)
            return ""
        except Unauthenticated as exc:
            WORKER_REFUSALS.labels(reason).inc()
            log.warning(
                "worker stream refused for id %r: %s", hello.worker_id, exc.message,
                extra={"worker_id": hello.worker_id},
            )  # fmt: skip
            raise

    def _check_labels(self, hello: v1.Hello) -> None:
        # First, so that an id or key made to forge log lines or drive terminals is never
        # logged, stored or listed.
        validate_worker(hello.worker_id, hello.labels)
        limits = self.limits
        if len(hello.worker_id.encode()) > limits.max_label_bytes:
            raise InvalidRequest(
                f"worker id {hello.worker_id[:40]!r}... is {len(hello.worker_id.encode())} bytes; "
                f"at most {limits.max_label_bytes} (limits.max_label_bytes)"
            )
        if len(hello.labels) > limits.max_worker_labels:
            raise InvalidRequest(
                f"worker {hello.worker_id} declares {len(hello.labels)} labels; at most "
                f"{limits.max_worker_labels} (limits.max_worker_labels)"
            )
        for key, value in hello.labels.items():
            if len(key.encode()) + len(value.encode()) > limits.max_label_bytes:
                raise InvalidRequest(
                    f"worker {hello.worker_id}: label {key[:40]!r} is over {limits.max_label_bytes} "
                    "bytes (limits.max_label_bytes)"
                )

    async def _adopt(self, session: Session, running: list[v1.RunningAttempt]) -> list[v1.RunningAttempt]:
        """Bring to this stream the attempts the worker still runs that are still current
        (whichever daemon's stream held them before); the rest are stale. Attempts the store
        gives this worker that it no longer runs are LOST."""
        claimed = [(r.job_id, r.attempt) for r in running]
        adopted = await self.holders.adopt(
            session.worker_id, self.lease.daemon_id, session.id, claimed, ACTIVE
        )
        kept = set()
        for a in adopted:
            key = (a.job_id, a.attempt)
            kept.add(key)
            self.ledger.hold(session, key, JobNeeds(a.job_id))
            if a.cancel_reason is not None:
                # Asked while the worker was away (or sent on a stream that then broke).
                session.send(cancel_message(*key, a.kill_grace, a.cancel_reason))
        stale = [r for r in running if (r.job_id, r.attempt) not in kept]
        # Those it no longer runs: LOST if they had started; if not (sent on a stream that
        # broke before the worker took them), they go back to the queue, no retry used.
        worker = session.worker_id
        # Each verdict is fenced by the stream that held the attempt: if the worker brought it
        # to a newer stream meanwhile, that stands.
        gone = [
            AttemptEnd(
                h.job_id, h.attempt, v1.AttemptOutcome.LOST,
                reason=f"worker {worker} came back without it", fence=h.session_id,
            )
            if h.started
            else AttemptEnd(
                h.job_id, h.attempt, NOT_TAKEN,
                reason=f"worker {worker} came back without it before it started", fence=h.session_id,
            )
            for h in await self.holders.held_by(worker, session.id)
            if (h.job_id, h.attempt) not in kept and not self.ledger.awaiting((h.job_id, h.attempt))
        ]  # fmt: skip
        await self.settler.end(gone)
        return stale

    async def stop_readers(self) -> None:
        """Stop reading the worker streams and wait until what was already read is applied."""
        for reader in self._tasks:
            reader.cancel()
        if tasks := self._tasks | self._appliers:
            await asyncio.wait(tasks)

    def detach(self, session: Session) -> None:
        session.close()
        self.registry.remove(session)
        self.ledger.stream_ended(session)
        self._record_ended()
        log.warning(
            "worker %s disconnected with %d attempts running",
            session.worker_id,
            len(session.running),
            extra={"worker_id": session.worker_id},
        )

    async def _heartbeat(self, session: Session) -> None:
        interval = self.settings.heartbeat_interval_seconds
        while not session.closed:
            session.send(v1.DaemonMessage(heartbeat=session.heartbeats.beat()))
            await asyncio.sleep(interval)
            if session.heartbeat_age() > 3 * interval:
                log.warning(
                    "worker %s silent for %.0f s; dropping its stream",
                    session.worker_id,
                    session.heartbeat_age(),
                )
                session.close()

    async def _read(self, session: Session, messages: AsyncIterator[v1.WorkerMessage]) -> None:
        """Take the worker's messages off the stream as they come and apply them in batches:
        whatever queued up while the last batch was written goes in the next one."""
        inbox: asyncio.Queue[v1.WorkerMessage | None] = asyncio.Queue()
        # The applier outlives a cancelled reader: it applies everything read, then ends.
        applier = asyncio.create_task(self._apply(session, inbox), name=f"apply {session.worker_id}")
        self._appliers.add(applier)
        applier.add_done_callback(self._appliers.discard)
        applier.add_done_callback(lambda _: self._applied_all(session))
        try:
            async for message in messages:
                session.last_heard = time.monotonic()
                if (beat := message.heartbeat) is not None:
                    session.heartbeats.heard(beat)
                    self.registry.changed(session.worker_id)
                else:
                    inbox.put_nowait(message)
                # Buffered messages decode without ever yielding: let heartbeats through.
                await asyncio.sleep(0)
        except (GRPCError, StreamTerminatedError, ProtocolError, ConnectionError) as exc:
            log.info("worker %s stream ended: %s", session.worker_id, exc)
        finally:
            inbox.put_nowait(None)

    def _record_ended(self) -> None:
        """Record at once that this daemon's ended streams ended (the lost-attempt reaper
        does it too, should this fail), so that every daemon judges them by when they did."""
        task = asyncio.create_task(self._sync_streams(), name="record ended streams")
        self._appliers.add(task)
        task.add_done_callback(self._appliers.discard)

    async def _sync_streams(self) -> None:
        with contextlib.suppress(StoreError):
            await self.lease.sync_streams()

    def _applied_all(self, session: Session) -> None:
        """Everything read from the session's stream is applied: it is over."""
        session.close()
        session.drained.set()
        self.ledger.close(session)
        if self._readers.get(session.worker_id) is session:
            del self._readers[session.worker_id]

    async def _apply(self, session: Session, inbox: asyncio.Queue[v1.WorkerMessage | None]) -> None:
        """Apply what the worker sent, batch by batch, and acknowledge each batch once it is
        stored: the worker keeps every message until then and resends it on its next stream."""
        done = False
        applied = 0
        while not done:
            batch = [await inbox.get()]
            while not inbox.empty():
                batch.append(inbox.get_nowait())
            done = batch[-1] is None
            messages = [m for m in batch if m is not None]
            if not messages:
                continue
            try:
                await self.reports.apply(session, messages)
            except StoreError as exc:
                # Not acknowledged: the worker sends it all again after it reconnects.
                log.warning("worker %s: reports not stored (%s); dropping its stream", session.worker_id, exc)
                session.close()
                return
            applied += len(messages)
            session.send(v1.DaemonMessage(ack=v1.Acknowledged(applied=applied)))
