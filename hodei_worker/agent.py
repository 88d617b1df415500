"""The agent: keeps a stream to the daemon alive and runs the attempts it is sent."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import ssl
from importlib.metadata import version
from types import TracebackType

from grpclib.const import Cardinality, Status
from grpclib.exceptions import GRPCError, ProtocolError, StreamTerminatedError

from hodei_api import v1
from hodei_api.backoff import Backoff
from hodei_api.client import Client, WrongPeer
from hodei_worker.attempts import Attempts
from hodei_worker.batcher import BatchLimits
from hodei_worker.config import WorkerSettings
from hodei_worker.errors import Refused, StreamLost
from hodei_worker.jobuser import JobUser
from hodei_worker.outbox import Outbox
from hodei_worker.servers import Servers
from hodei_worker.session import CONNECT, Session
from hodei_worker.state import StateDir

logger = logging.getLogger(__name__)

VERSION = version("hodei")
# How long a stopping worker waits for the daemon to see it close its stream.
STOP_GRACE = 3.0
# A stream that stayed up this long carried heartbeats both ways: the daemon was healthy, so
# losing it later starts the backoff over (a worker failing over to another daemon waits
# only the jitter), while a daemon that welcomes and drops its workers is backed off from.
HEALTHY_AFTER = 10.0


class Agent:
    """hodei-worker's main loop.

    ``await Agent(settings).run()`` connects to one of ``settings.servers``, reconnects to the
    next whenever the stream fails, backing off after a lost stream or a round of addresses
    that all failed (running attempts carry on meanwhile, and their unacknowledged reports go
    to whichever daemon it reaches), and returns once it was
    told to stop (``stop()``) or to drain (``Drain`` without ``stay``) and its attempts have
    ended and been reported; it raises ``Refused`` if the daemon refuses its Hello as
    UNAUTHENTICATED. ``async with Agent(settings) as agent:`` runs it in a task and stops it
    on the way out. Jobs run as ``job_user`` (None: as the worker's own user).

    ``credential`` proves the worker's id to a daemon it joins with the cluster token: made and
    kept in ``state`` before the first Hello (``StateDir.credential``), presented in every Hello.
    ``state`` names the credential file, and ``token_source`` where the join token was read
    from, when the daemon refuses the worker.
    """

    def __init__(
        self,
        settings: WorkerSettings,
        *,
        backoff: Backoff | None = None,
        hostname: str | None = None,
        tls: ssl.SSLContext | None = None,
        state: StateDir | None = None,
        credential: str = "",
        job_user: JobUser | None = None,
        token_source: str = "",
    ) -> None:
        self.settings = settings
        self.token_source = token_source
        self.state = state
        self.credential = credential
        self.tls = tls
        self.hostname = hostname or socket.gethostname()
        self.outbox = Outbox(settings.outbox_mb << 20)
        self.session: Session | None = None
        """The stream's session while there is one."""
        self.draining = False
        self._stay = False
        self._stopping = False
        self._closing = False
        self._backoff = backoff or Backoff(reset_after=HEALTHY_AFTER)
        self.servers = Servers(settings.servers)
        self.attempts = Attempts(
            settings.slots,
            self.outbox,
            on_end=self._check_idle,
            default_grace=settings.kill_grace_seconds,
            limits=BatchLimits(max_line=settings.max_log_line_bytes),
            user=job_user,
        )
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._connecting: asyncio.Task[str | None] | None = None
        self._resume_token = ""
        self._uptime = 0.0  # how long the latest stream stayed up, for the backoff
        # Orders this process's Hellos for the daemons: one it gave up that a daemon takes in
        # late is refused there, and cannot judge what a newer stream holds.
        self._incarnation = secrets.token_hex(8)
        self._streams = 0

    @property
    def rtt(self) -> float | None:
        """Latest heartbeat round trip to the daemon, in seconds, while connected."""
        return self.session.rtt if self.session else None

    async def run(self) -> None:
        """Serve until stopped or drained; on the way out nothing the attempts started is left."""
        try:
            while not self._done():
                self._connecting = asyncio.create_task(self._connect_once(), name="hodei-worker connect")
                try:
                    reason = await self._connecting
                except asyncio.CancelledError:
                    if not self._stopping:
                        raise
                    reason = None  # stop() gave up a connection that was not made yet
                if reason is None or self._done():
                    break
                if not self.servers.failed(welcomed=self._uptime > 0):
                    logger.warning("%s; trying %s", reason, self.servers.current)
                    continue
                delay = self._backoff.next_delay(self._uptime)
                logger.warning("%s; reconnecting in %.1f s to %s", reason, delay, self.servers.current)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await self._wake.wait()
            # Only a stop ends the loop with attempts left: they are ending on their SIGTERM.
            await self.attempts.wait()
        finally:
            await self.attempts.kill_all()
        if undelivered := len(self.outbox):
            logger.warning("exiting with %d messages the daemon never got", undelivered)

    def stop(self) -> None:
        """Shut down gracefully: refuse new jobs, cancel the running ones, report, disconnect.

        Safe to call more than once, and from a signal handler.
        """
        if self._stopping:
            return
        self._stopping = True
        logger.info("shutting down%s", f"; cancelling {n} running" if (n := len(self.attempts)) else "")
        self.attempts.cancel_all("the worker is shutting down")
        self._wake.set()
        session = self.session
        if session is None or session.welcomed_at is None:
            # Not connected (the daemon may be gone, or be going): there is no one to report
            # to, and a half-made connection could hold the exit for a heartbeat timeout.
            self._give_up_connection()
        else:
            # Connected: report and close gracefully, but a daemon that is itself stopping
            # may never answer the close; do not wait a heartbeat timeout for it.
            asyncio.get_running_loop().call_later(STOP_GRACE, self._give_up_connection)
        self._check_idle()

    def _give_up_connection(self) -> None:
        if self._connecting is not None and not self._connecting.done():
            self._connecting.cancel()

    async def __aenter__(self) -> Agent:
        self._task = asyncio.create_task(self.run(), name="hodei-worker agent")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
        assert self._task is not None
        await self._task

    def _done(self) -> bool:
        """No reason to (re)connect: stopping, or drained with everything sent."""
        return self._stopping or (self._closing and not len(self.outbox))

    async def _connect_once(self) -> str | None:
        """One stream's life: None if it ended as asked, else why it failed."""
        server = self.servers.current
        # Before the Hello is built: it lists attempts whose Finished is unacknowledged too.
        self.outbox.restart()
        self.session = session = Session(
            hello=self._hello(),
            outbox=self.outbox,
            dispatch=self._dispatch,
            running=lambda: len(self.attempts),
            heartbeat_interval=self.settings.heartbeat_seconds,
        )
        if self._closing:
            session.close()
        try:
            async with Client(server, tls=self.tls) as client:
                stream = client.channel.request(
                    CONNECT, Cardinality.STREAM_STREAM, v1.WorkerMessage, v1.DaemonMessage
                )
                async with stream:
                    await session.run(stream)
            return None
        except StreamLost as exc:
            return f"stream to {server} lost: {exc}"
        except GRPCError as exc:
            refusal = f"{server} refused the stream: {exc.status.name} {exc.message or ''}".strip()
            if exc.status == Status.UNAUTHENTICATED:
                raise Refused(self._refused(refusal)) from None
            return refusal
        except (StreamTerminatedError, ProtocolError) as exc:
            return f"stream to {server} lost: {exc or type(exc).__name__}"
        except WrongPeer as exc:
            return str(exc)
        except OSError as exc:
            # asyncio's connect errors carry the errno but a strerror of its own wording.
            detail = os.strerror(exc.errno) if exc.errno and exc.errno > 0 else exc.strerror or str(exc)
            return f"cannot reach {server}: {detail}"
        finally:
            self._uptime = session.uptime
            self.session = None

    def _refused(self, refusal: str) -> str:
        where = []
        if self.token_source:
            where.append(f"join token from {self.token_source}")
        if self.state is not None:
            where.append(
                f"this worker's credential file: {self.state.credential_file(self.settings.worker_id)}"
            )
        return f"{refusal} ({'; '.join(where)})" if where else refusal

    def _hello(self) -> v1.Hello:
        settings = self.settings
        self._streams += 1
        return v1.Hello(
            worker_id=settings.worker_id,
            hostname=self.hostname,
            labels=dict(settings.labels),
            slots=settings.slots,
            resources=v1.Resources(cpu=settings.cpu, memory_mb=settings.memory_mb),
            running=self.attempts.unreported(),
            version=VERSION,
            token=self._resume_token or settings.join_token,
            credential=self.credential,
            incarnation=self._incarnation,
            stream=self._streams,
        )

    def _dispatch(self, message: v1.DaemonMessage) -> None:
        if message.welcome is not None:
            self._on_welcome(message.welcome)
        elif message.run_job is not None:
            self._on_run_job(message.run_job)
        elif message.cancel is not None:
            self._on_cancel(message.cancel)
        elif message.drain is not None:
            self._on_drain(message.drain)

    def _on_welcome(self, welcome: v1.Welcome) -> None:
        if welcome.resume_token:
            # The one-time join token is spent; this one lets the worker back in.
            self._resume_token = welcome.resume_token
        for stale in welcome.stale:
            self.attempts.abandon((stale.job_id, stale.attempt))
        settings = self.settings
        logger.info(
            "connected to %s as %s (slots %d)", self.servers.current, settings.worker_id, settings.slots
        )
        self._check_idle()

    def _on_run_job(self, run: v1.RunJob) -> None:
        if self._stopping:
            self.attempts.start(run, refusal="the worker is shutting down")
        elif self.draining:
            self.attempts.start(run, refusal="the worker is draining")
        else:
            self.attempts.start(run)

    def _on_cancel(self, cancel: v1.CancelAttempt) -> None:
        key = (cancel.job_id, cancel.attempt)
        self.attempts.cancel(key, cancel.reason, cancel.grace_seconds or None)

    def _on_drain(self, drain: v1.Drain) -> None:
        self.draining = True
        self._stay = drain.stay
        logger.info(
            "draining: no new jobs; %s once the running ones end",
            "staying connected" if drain.stay else "exiting",
        )
        self._check_idle()

    def _check_idle(self) -> None:
        """Close the stream gracefully once stopping or draining and nothing runs any more."""
        if self._closing or len(self.attempts):
            return
        if self._stopping or (self.draining and not self._stay):
            self._closing = True
            if self.session is not None:
                self.session.close()
