"""A real gRPC server speaking the hodei contract from a script, and a link that can be cut.

The CLI talks to it over loopback exactly as it would to hodeid; only the answers are scripted.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime

from grpclib.const import Status
from grpclib.exceptions import GRPCError
from grpclib.server import Server

from hodei_api import v1
from hodei_api.loglines import Line, micros, pack
from tests.support.sockets import listening_socket

CREATED = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


@dataclass
class LogScript:
    """What one StreamLogs call sends: these chunks, then it ends, hangs, or fails."""

    chunks: list[v1.LogChunk]
    then: str = "end"  # "end", "hang" or "unavailable"


@dataclass
class Script:
    """The daemon's state, and a record of what the client asked."""

    jobs: dict[str, v1.Job] = field(default_factory=dict)
    logs: list[LogScript] = field(default_factory=list)
    workers: list[v1.WorkerInfo] = field(default_factory=list)
    providers: list[v1.ProviderInfo] = field(default_factory=list)
    daemons: v1.ListDaemonsResponse = field(default_factory=v1.ListDaemonsResponse)
    # Without any, ExplainJob is UNIMPLEMENTED, as on a daemon that cannot explain.
    explained: dict[str, v1.ExplainJobResponse] = field(default_factory=dict)
    # False: ListJobs says no total, as a daemon older than the total does.
    counts_jobs: bool = True
    submitted: list[v1.JobSpec] = field(default_factory=list)
    log_requests: list[v1.StreamLogsRequest] = field(default_factory=list)
    list_requests: list[v1.ListJobsRequest] = field(default_factory=list)
    cancel_requests: list[v1.CancelJobRequest] = field(default_factory=list)
    drain_requests: list[v1.DrainWorkerRequest] = field(default_factory=list)
    retry_requests: list[v1.RetryJobRequest] = field(default_factory=list)
    streaming: asyncio.Event = field(default_factory=asyncio.Event)
    # GetJob calls answered UNAVAILABLE before any is served, as by a daemon shutting down.
    unavailable: int = 0
    get_requests: int = 0

    def job(self, job_id: str) -> v1.Job:
        if job_id not in self.jobs:
            raise GRPCError(Status.NOT_FOUND, f"job {job_id} not found")
        return self.jobs[job_id]


def line(seq: int, stream: v1.LogStream, data: bytes) -> Line:
    """A log line as a worker would have sent it."""
    return Line(seq, stream, data, micros(CREATED), 1)


def chunk(*lines: Line, final_state: v1.JobState = v1.JobState.UNSPECIFIED) -> v1.LogChunk:
    """One message of a log stream."""
    return v1.LogChunk(lines=pack(lines), final_state=final_state)


class Jobs(v1.JobServiceBase):
    def __init__(self, script: Script) -> None:
        self.script = script

    async def submit_job(self, message: v1.SubmitJobRequest) -> v1.SubmitJobResponse:
        assert message.spec is not None
        self.script.submitted.append(message.spec)
        job_id = f"job-{len(self.script.submitted)}"
        # A job the test put there beforehand is how it scripts the outcome GetJob reports.
        existing = job_id in self.script.jobs
        job = self.script.jobs.setdefault(
            job_id, v1.Job(id=job_id, spec=message.spec, state=v1.JobState.PENDING, created_at=CREATED)
        )
        return v1.SubmitJobResponse(job=job, existing=existing and bool(message.spec.idempotency_key))

    async def get_job(self, message: v1.GetJobRequest) -> v1.Job:
        self.script.get_requests += 1
        if self.script.unavailable:
            self.script.unavailable -= 1
            raise GRPCError(Status.UNAVAILABLE, "hodeid is shutting down")
        return self.script.job(message.id)

    async def list_jobs(self, message: v1.ListJobsRequest) -> v1.ListJobsResponse:
        self.script.list_requests.append(message)
        jobs = [
            job
            for job in reversed(self.script.jobs.values())
            if job.state in message.states or not message.states
        ]
        # Pages as hodeid's do: 100 by default, and a cursor back (and the total) whenever a
        # page is full.
        start = int(message.page_token or 0)
        limit = message.limit or 100
        page = jobs[start : start + limit]
        full = len(page) == limit
        token = str(start + limit) if full else ""
        total = len(jobs) if full and self.script.counts_jobs else None
        return v1.ListJobsResponse(jobs=page, next_page_token=token, total=total)

    async def cancel_job(self, message: v1.CancelJobRequest) -> v1.Job:
        self.script.cancel_requests.append(message)
        job = self.script.job(message.id)
        job.state = v1.JobState.CANCELLED
        job.reason = message.reason
        return job

    async def retry_job(self, message: v1.RetryJobRequest) -> v1.Job:
        self.script.retry_requests.append(message)
        job = self.script.job(message.id)
        if job.state in (v1.JobState.PENDING, v1.JobState.ASSIGNED, v1.JobState.RUNNING):
            raise GRPCError(Status.FAILED_PRECONDITION, f"job {job.id} is {job.state.name}, not finished")
        job.state = v1.JobState.PENDING
        return job


class Logs(v1.LogServiceBase):
    def __init__(self, script: Script) -> None:
        self.script = script

    async def stream_logs(self, message: v1.StreamLogsRequest) -> AsyncIterator[v1.LogChunk]:
        self.script.log_requests.append(message)
        self.script.job(message.job_id)
        plan = self.script.logs.pop(0)
        for chunk in plan.chunks:
            yield chunk
        self.script.streaming.set()
        if plan.then == "hang":
            await asyncio.Event().wait()
        if plan.then == "unavailable":
            raise GRPCError(Status.UNAVAILABLE, "hodeid is shutting down")


class Workers(v1.WorkerServiceBase):
    def __init__(self, script: Script) -> None:
        self.script = script

    async def list_workers(self, message: v1.ListWorkersRequest) -> v1.ListWorkersResponse:
        return v1.ListWorkersResponse(workers=self.script.workers)

    async def drain_worker(self, message: v1.DrainWorkerRequest) -> v1.WorkerInfo:
        self.script.drain_requests.append(message)
        for worker in self.script.workers:
            if worker.id == message.id:
                worker.draining = True
                return worker
        raise GRPCError(Status.NOT_FOUND, f"worker {message.id} not found")


class Scheduler(v1.SchedulerServiceBase):
    def __init__(self, script: Script) -> None:
        self.script = script

    async def explain_job(self, message: v1.ExplainJobRequest) -> v1.ExplainJobResponse:
        if not self.script.explained:
            raise GRPCError(Status.UNIMPLEMENTED, "this daemon explains nothing")
        self.script.job(message.id)
        return self.script.explained[message.id]


class Providers(v1.ProviderServiceBase):
    def __init__(self, script: Script) -> None:
        self.script = script

    async def list_providers(self, message: v1.ListProvidersRequest) -> v1.ListProvidersResponse:
        return v1.ListProvidersResponse(providers=self.script.providers)


class Daemons(v1.DaemonServiceBase):
    def __init__(self, script: Script) -> None:
        self.script = script

    async def list_daemons(self, message: v1.ListDaemonsRequest) -> v1.ListDaemonsResponse:
        return self.script.daemons


@asynccontextmanager
async def serving(script: Script) -> AsyncIterator[int]:
    """Serve the script on a free loopback port, yielded."""
    server = Server(
        [Jobs(script), Logs(script), Workers(script), Scheduler(script), Providers(script), Daemons(script)]
    )
    sock = listening_socket()
    await server.start(sock=sock)
    try:
        yield sock.getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


class Link:
    """A TCP relay in front of a server; ``down()`` drops every connection and stops
    listening, as a daemon that died would; ``up()`` listens again on the same port."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self._server: asyncio.Server | None = None
        self._ends: set[asyncio.StreamWriter] = set()
        self._relays: set[asyncio.Task[None]] = set()

    async def up(self) -> None:
        self._server = await asyncio.start_server(self._accept, sock=listening_socket(self.port))
        self.port = self._server.sockets[0].getsockname()[1]

    async def down(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        # Closing the sockets (rather than cancelling the relays) ends each relay normally.
        for end in self._ends:
            end.close()
        if self._relays:
            await asyncio.wait(self._relays)
        if server is not None:
            await server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        relay = asyncio.current_task()
        assert relay is not None
        self._relays.add(relay)
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        ends = {writer, upstream_writer}
        self._ends |= ends
        try:
            # Either side closing or resetting ends the relay; which one it was does not matter.
            await asyncio.gather(
                _pump(reader, upstream_writer), _pump(upstream_reader, writer), return_exceptions=True
            )
        finally:
            for end in ends:
                end.close()
                with suppress(OSError):
                    await end.wait_closed()
            self._ends -= ends
            self._relays.discard(relay)


async def _pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    while data := await source.read(65536):
        sink.write(data)
        await sink.drain()
    # One side is done: close the other too, so the relay ends as a whole.
    sink.close()
