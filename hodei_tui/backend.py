"""The calls the CLI makes to its daemon, or to the next of several sharing one database when
one cannot be reached, with failures put in words: the client of the CLI and of the console
alike."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import aclosing, asynccontextmanager, contextmanager
from copy import copy
from typing import NamedTuple, TypeVar, cast
from uuid import uuid4

from grpclib.const import Status
from grpclib.exceptions import GRPCError, ProtocolError, StreamTerminatedError

from hodei_api import v1
from hodei_api.client import AddressError, Client, Token, WrongPeer, find_token, parse_addrs, tls_context
from hodei_api.loglines import Line, check, unpack
from hodei_api.rotation import Rotation
from hodei_tui.errors import DaemonUnreachable, HodeiError, RequestRefused, UsageError

# What a call can fail with: the server's status, or the connection (ProtocolError when
# whatever listens at the address does not speak gRPC the way hodeid does).
CallFailure = GRPCError | OSError | StreamTerminatedError | ProtocolError
T = TypeVar("T")

# Bounds every unary call, including connecting: a daemon behind a firewall that drops
# packets would otherwise keep the caller waiting for the operating system's TCP timeout.
CALL_TIMEOUT = 30.0
# With several daemons: the pauses before a call that none of them took is tried on them all
# again (a rolling restart); a submit carries an idempotency key of its own there, so a repeat
# cannot queue it twice.
ROUND_PAUSES = (0.25, 1.0)


def transport_detail(exc: BaseException) -> str:
    """Why the connection failed, in a few lowercase words."""
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, StreamTerminatedError):
        return "connection lost"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc) or type(exc).__name__


def unreachable_message(addr: str, detail: str) -> str:
    """The one line that says the daemon cannot be reached and what to do about it."""
    return (
        f"cannot reach hodeid at {addr} ({detail}); start it with 'hodeid' "
        "or point --addr/HODEI_ADDR at a running daemon"
    )


def describe_origin(token: Token) -> str:
    """Where the token a refused call carried came from, as words for its message."""
    if token.value is None:
        return f"hodei sent no token ({token.source})"
    return f"hodei read its token from {token.source}"


def refusal_message(exc: GRPCError, token_origin: str = "") -> str:
    """The server's own words for a refused request, with a hint where the fix is on our side:
    for a token refused, where that token came from and what to set instead."""
    message = exc.message or f"hodeid refused the request ({exc.status.name})"
    if exc.status in (Status.UNAUTHENTICATED, Status.PERMISSION_DENIED):
        origin = f"{token_origin}; " if token_origin else ""
        message += (
            f"; {origin}set HODEI_TOKEN, or HODEI_TOKEN_FILE to a file holding it, to a token this "
            "hodeid accepts: the admin.token in its --data-dir, or one from 'hodeid token create'"
        )
    return message


def translate(addr: str, exc: CallFailure, token_origin: str = "") -> HodeiError:
    """The hodei error for a failed call: unreachable (worth retrying) or refused (not); a
    disagreement on TLS, or a peer that is not hodeid, is neither: waiting will not mend it.
    ``token_origin`` says where the call's token came from (``describe_origin()``)."""
    if isinstance(exc, WrongPeer):
        return HodeiError(str(exc))
    if isinstance(exc, GRPCError):
        if exc.status is Status.UNAVAILABLE:
            return DaemonUnreachable(unreachable_message(addr, exc.message or "unavailable"))
        return RequestRefused(refusal_message(exc, token_origin))
    return DaemonUnreachable(unreachable_message(addr, transport_detail(exc)))


def moves_on(exc: CallFailure) -> bool:
    """True when a call that failed so is worth making on another daemon: this one could not
    be reached, went away, said it is unavailable, or is not hodeid as configured. Any other
    status is the daemon's answer."""
    return not isinstance(exc, GRPCError) or exc.status is Status.UNAVAILABLE


def failure_detail(exc: CallFailure) -> str:
    """Why one daemon could not be reached, for a message naming several."""
    if isinstance(exc, WrongPeer):
        return str(exc)
    if isinstance(exc, GRPCError):
        return exc.message or exc.status.name.lower()
    return transport_detail(exc)


def unreachable_everywhere(failures: Sequence[tuple[Client, CallFailure]]) -> HodeiError:
    """The error for a call no daemon could take, naming each address and why. It is worth
    retrying (``DaemonUnreachable``) unless every address was configured wrong."""
    if len(failures) == 1:
        [(client, exc)] = failures
        return translate(client.addr, exc, client.token_origin)
    details = "; ".join(f"{client.addr}: {failure_detail(exc)}" for client, exc in failures)
    message = (
        f"cannot reach hodeid at any of its {len(failures)} addresses ({details}); start one with "
        "'hodeid' or point --addr/HODEI_ADDR at running daemons"
    )
    if all(isinstance(exc, WrongPeer) for _, exc in failures):
        return HodeiError(message)
    return DaemonUnreachable(message)


class Submitted(NamedTuple):
    """What submitting a job gave back."""

    job: v1.Job
    existing: bool
    """True when the idempotency key found an earlier job, which is returned instead."""


class Listed(NamedTuple):
    """A listing of jobs, and whether the daemon holds more than it shows."""

    jobs: list[v1.Job]
    more: bool
    total: int | None = None
    """How many jobs there are in all, when the daemon said (one older than this hodei does not)."""


class LogChunk(NamedTuple):
    """One message of a job's log stream, its lines unpacked."""

    lines: list[Line]
    final_state: v1.JobState
    """The job's terminal state on the last message of a followed stream, else UNSPECIFIED."""


class PackedChunk(NamedTuple):
    """One message of a job's log stream, its lines checked and left in columns (for a
    reader that copies them on without an object per line)."""

    lines: v1.LogLines
    final_state: v1.JobState
    """The job's terminal state on the last message of a followed stream, else UNSPECIFIED."""


class Backend:
    """The jobs, logs and workers of the daemons at one or several addresses (several
    ``hodeid`` on one database); every failure is raised as a ``HodeiError``.

    A call goes to the daemon that answered last; one that cannot be reached (refused, gone,
    ``UNAVAILABLE``, not hodeid as configured) hands the call, and the calls after it, to the
    next address. Any other answer, a refusal included, is the daemon's word and is final."""

    def __init__(self, clients: Sequence[Client], call_timeout: float = CALL_TIMEOUT) -> None:
        self._daemons = Rotation(clients)
        self._timeout = call_timeout

    @property
    def current(self) -> Client:
        """The client of the daemon in use."""
        return self._daemons.current

    @property
    def addr(self) -> str:
        """The HOST:PORT of the daemon in use, for messages."""
        return self._daemons.current.addr

    @property
    def addrs(self) -> list[str]:
        """Every daemon's HOST:PORT, in the order given."""
        return [client.addr for client in self._daemons.items]

    def close(self) -> None:
        for client in self._daemons.items:
            client.close()

    async def call(self, call: Callable[[Client], Awaitable[T]]) -> T:
        """``call`` on the daemon in use, else on each next one that can be reached. With
        several daemons, a call none of them could take is tried again after each of
        ``ROUND_PAUSES``: daemons restarted in turn leave moments when the one tried first is
        not back yet and the next one is on its way down."""
        for pause in (*ROUND_PAUSES, None):
            failures: list[tuple[Client, CallFailure]] = []
            for client in self._daemons.order():
                try:
                    result = await call(client)
                except (GRPCError, OSError, StreamTerminatedError, ProtocolError) as exc:
                    if not moves_on(exc):
                        self._daemons.worked(client)
                        raise translate(client.addr, exc, client.token_origin) from exc
                    self._daemons.failed(client)
                    failures.append((client, exc))
                    continue
                self._daemons.worked(client)
                return result
            error = unreachable_everywhere(failures)
            if pause is None or len(failures) < 2 or not isinstance(error, DaemonUnreachable):
                raise error from failures[-1][1]
            await asyncio.sleep(pause)
        raise AssertionError("the last round raises")

    @contextmanager
    def streaming(self, client: Client) -> Iterator[None]:
        """Around a stream from ``client``: its failure in words; one that moves on hands the
        next calls to the next daemon, where a resumed stream continues."""
        try:
            yield
        # ConnectionRefusedError, TimeoutError and name lookup failures are all OSErrors.
        except (GRPCError, OSError, StreamTerminatedError, ProtocolError) as exc:
            if moves_on(exc):
                self._daemons.failed(client)
            raise translate(client.addr, exc, client.token_origin) from exc

    @contextmanager
    def _served(self, method: str, client: Client) -> Iterator[None]:
        """Around a call of ``method``: a daemon that does not serve it is older than hodei."""
        try:
            yield
        except GRPCError as exc:
            if exc.status is Status.UNIMPLEMENTED:
                raise RequestRefused(
                    f"hodeid at {client.addr} does not serve {method}: it is older than this hodei; "
                    "upgrade it"
                ) from exc
            raise

    async def _watch(
        self, method: str, open_stream: Callable[[Client], AsyncIterator[T]]
    ) -> AsyncIterator[T]:
        # No timeout on a watch: it lasts as long as the console looks. The stub is annotated
        # as an iterator but is a generator; closing it releases the HTTP/2 stream at once.
        client = self._daemons.current
        with self.streaming(client), self._served(method, client):
            async with aclosing(cast(AsyncGenerator[T, None], open_stream(client))) as items:
                async for item in items:
                    yield item

    def watch_jobs(self, limit: int) -> AsyncIterator[v1.JobEvent]:
        """The newest ``limit`` jobs, a ``listed`` marker, then each job as it changes."""
        request = v1.WatchJobsRequest(limit=limit)
        return self._watch("WatchJobs", lambda c: c.jobs.watch_jobs(request))

    def watch_workers(self) -> AsyncIterator[v1.WorkerEvent]:
        """The workers, a ``listed`` marker, then each worker as it changes."""
        request = v1.WatchWorkersRequest()
        return self._watch("WatchWorkers", lambda c: c.workers.watch_workers(request))

    def watch_decisions(self, job_id: str) -> AsyncIterator[v1.Decision]:
        """The job's placement decisions as the scheduler makes them."""
        request = v1.WatchDecisionsRequest(job_id=job_id)
        return self._watch("WatchDecisions", lambda c: c.scheduler.watch_decisions(request))

    async def submit_job(self, spec: v1.JobSpec) -> Submitted:
        """Queue a job, or find the earlier one with the same idempotency key."""
        own_key = len(self._daemons.items) > 1 and not spec.idempotency_key
        if own_key:
            # A daemon that dies before answering may have queued the job: the key makes the
            # submit repeated on the next daemon find that job instead of queueing a second.
            spec = copy(spec)
            spec.idempotency_key = f"hodei-{uuid4()}"
        request = v1.SubmitJobRequest(spec=spec)
        response = await self.call(lambda c: c.jobs.submit_job(request, timeout=self._timeout))
        if response.job is None:
            raise RequestRefused("hodeid accepted the job but did not say which; see 'hodei job list'")
        return Submitted(response.job, response.existing and not own_key)

    async def get_job(self, job_id: str) -> v1.Job:
        """One job with its attempts."""
        request = v1.GetJobRequest(id=job_id)
        return await self.call(lambda c: c.jobs.get_job(request, timeout=self._timeout))

    async def _list_page(self, states: Sequence[v1.JobState], limit: int, token: str) -> v1.ListJobsResponse:
        request = v1.ListJobsRequest(states=list(states), limit=limit, page_token=token)
        return await self.call(lambda c: c.jobs.list_jobs(request, timeout=self._timeout))

    async def list_jobs(self, states: Sequence[v1.JobState], limit: int) -> Listed:
        """Jobs newest first: ``limit`` of them (fetching pages as needed), or when ``limit``
        is 0 the server's default page; whether more jobs lie beyond them, and how many there
        are in all."""
        jobs: list[v1.Job] = []
        token = ""
        while True:
            page = await self._list_page(states, limit - len(jobs) if limit else 0, token)
            jobs.extend(page.jobs)
            token = page.next_page_token
            if not token or not page.jobs:
                return Listed(jobs, more=False, total=len(jobs))
            if not limit or len(jobs) >= limit:
                break
        if page.total is not None:
            return Listed(jobs, more=page.total > len(jobs), total=page.total)
        # The daemon hands a cursor back whenever a page is full: one job past it tells.
        beyond = await self._list_page(states, 1, token)
        return Listed(jobs, more=bool(beyond.jobs))

    async def every_job(self, states: Sequence[v1.JobState]) -> AsyncIterator[list[v1.Job]]:
        """Every job newest first, a page at a time, so a caller can write each as it comes."""
        token = ""
        while True:
            page = await self._list_page(states, 0, token)
            if page.jobs:
                yield list(page.jobs)
            token = page.next_page_token
            if not token or not page.jobs:
                return

    async def cancel_job(self, job_id: str, reason: str = "") -> v1.Job:
        """Ask for a job to be cancelled; returns the job as it is now."""
        request = v1.CancelJobRequest(id=job_id, reason=reason)
        return await self.call(lambda c: c.jobs.cancel_job(request, timeout=self._timeout))

    async def retry_job(self, job_id: str) -> v1.Job:
        """Queue a finished job again as its next attempt; returns the job as it is now."""
        request = v1.RetryJobRequest(id=job_id)

        async def retry(client: Client) -> v1.Job:
            with self._served("RetryJob", client):
                return await client.jobs.retry_job(request, timeout=self._timeout)

        return await self.call(retry)

    async def explain_job(self, job_id: str) -> v1.ExplainJobResponse:
        """The job's placement decisions, newest first (a waiting job's evaluated now)."""
        request = v1.ExplainJobRequest(id=job_id)
        return await self.call(lambda c: c.scheduler.explain_job(request, timeout=self._timeout))

    async def stream_logs(self, job_id: str, after_seq: int, follow: bool) -> AsyncGenerator[LogChunk, None]:
        """A job's log from after ``after_seq``; with ``follow`` until the job ends."""
        async with aclosing(self.stream_packed_logs(job_id, after_seq, follow)) as chunks:
            async for chunk in chunks:
                yield LogChunk(unpack(chunk.lines), chunk.final_state)

    async def stream_packed_logs(
        self, job_id: str, after_seq: int, follow: bool
    ) -> AsyncGenerator[PackedChunk, None]:
        """``stream_logs``, its lines left in columns, from the daemon in use."""
        request = v1.StreamLogsRequest(job_id=job_id, after_seq=after_seq, follow=follow)
        client = self._daemons.current
        # No timeout: a followed stream lasts as long as the job.
        with self.streaming(client):
            # The stub is annotated as an iterator but is a generator; closing it at once
            # releases the HTTP/2 stream when our caller stops early.
            stream = cast(AsyncGenerator[v1.LogChunk, None], client.logs.stream_logs(request))
            async with aclosing(stream) as chunks:
                async for chunk in chunks:
                    yield PackedChunk(_checked(chunk), chunk.final_state)

    async def list_workers(self, include_gone: bool = False) -> list[v1.WorkerInfo]:
        """The live workers; with ``include_gone`` also those whose stream went away recently."""
        request = v1.ListWorkersRequest(include_gone=include_gone)
        response = await self.call(lambda c: c.workers.list_workers(request, timeout=self._timeout))
        return list(response.workers)

    async def list_providers(self) -> list[v1.ProviderInfo]:
        """The providers that create workers on demand, with their counts and last error."""
        request = v1.ListProvidersRequest()
        response = await self.call(lambda c: c.providers.list_providers(request, timeout=self._timeout))
        return list(response.providers)

    async def list_daemons(self) -> v1.ListDaemonsResponse:
        """The daemons sharing the database, and which one answered."""
        request = v1.ListDaemonsRequest()
        return await self.call(lambda c: c.daemons.list_daemons(request, timeout=self._timeout))

    async def create_schedule(self, spec: v1.ScheduleSpec) -> v1.Schedule:
        """Store a schedule; its first run is the first planned time from now."""
        request = v1.CreateScheduleRequest(spec=spec)
        return await self.call(lambda c: c.schedules.create_schedule(request, timeout=self._timeout))

    async def list_schedules(self) -> list[v1.Schedule]:
        """Every schedule, by name."""
        request = v1.ListSchedulesRequest()
        response = await self.call(lambda c: c.schedules.list_schedules(request, timeout=self._timeout))
        return list(response.schedules)

    async def get_schedule(self, name: str) -> v1.Schedule:
        request = v1.GetScheduleRequest(name=name)
        return await self.call(lambda c: c.schedules.get_schedule(request, timeout=self._timeout))

    async def pause_schedule(self, name: str) -> v1.Schedule:
        request = v1.PauseScheduleRequest(name=name)
        return await self.call(lambda c: c.schedules.pause_schedule(request, timeout=self._timeout))

    async def resume_schedule(self, name: str) -> v1.Schedule:
        request = v1.ResumeScheduleRequest(name=name)
        return await self.call(lambda c: c.schedules.resume_schedule(request, timeout=self._timeout))

    async def delete_schedule(self, name: str) -> None:
        request = v1.DeleteScheduleRequest(name=name)
        await self.call(lambda c: c.schedules.delete_schedule(request, timeout=self._timeout))

    async def run_schedule(self, name: str) -> v1.Job:
        """Submit one run of a schedule now; its job."""
        request = v1.RunScheduleRequest(name=name)
        return await self.call(lambda c: c.schedules.run_schedule(request, timeout=self._timeout))

    async def drain_worker(self, worker_id: str, stay: bool) -> v1.WorkerInfo:
        """Stop giving a worker jobs; with ``stay`` it stays connected once idle."""
        request = v1.DrainWorkerRequest(id=worker_id, stay=stay)
        return await self.call(lambda c: c.workers.drain_worker(request, timeout=self._timeout))


def _checked(chunk: v1.LogChunk) -> v1.LogLines:
    lines = chunk.lines or v1.LogLines()
    try:
        check(lines)
    except ValueError as exc:
        raise HodeiError(
            f"hodeid sent log lines hodei cannot read ({exc}); are both the same version?"
        ) from exc
    return lines


def open_clients(addrs: str, tls_ca: str | None = None) -> list[Client]:
    """A client for each daemon in ``addrs`` (``HOST:PORT``, or several comma-separated),
    authenticated from the environment, over TLS trusting the CA bundle ``tls_ca`` if given
    (each channel connects on its first call)."""
    try:
        token = find_token()
    except OSError as exc:
        raise UsageError(
            f"cannot read HODEI_TOKEN_FILE {exc.filename} ({transport_detail(exc)}); "
            "point it at a readable file holding the token"
        ) from exc
    try:
        tls = tls_context(tls_ca)
    except (OSError, ssl.SSLError) as exc:
        raise UsageError(
            f"cannot load the CA bundle {tls_ca} ({exc}); point --tls-ca/HODEI_TLS_CA at a PEM file"
        ) from exc
    try:
        found = parse_addrs(addrs)
    except AddressError as exc:
        raise UsageError(f"{exc}; fix --addr or HODEI_ADDR") from exc
    origin = describe_origin(token)
    return [Client(_joined(host, port), token.value, tls, origin) for host, port in found]


def _joined(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


@asynccontextmanager
async def connect(addrs: str, tls_ca: str | None = None) -> AsyncIterator[Backend]:
    """A backend for the daemons at ``addrs`` (see ``open_clients``)."""
    backend = Backend(open_clients(addrs, tls_ca))
    try:
        yield backend
    finally:
        backend.close()
