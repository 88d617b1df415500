"""The console's client protocol over real daemons (``hodei_api.client.Client``, one per
address: several hodeid may share one database)."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator
from contextlib import aclosing, contextmanager
from typing import TypeVar, cast

from grpclib.const import Status
from grpclib.exceptions import GRPCError

from hodei_api import v1
from hodei_api.client import Client
from hodei_tui.backend import CALL_TIMEOUT, Backend, LogChunk, open_clients
from hodei_tui.errors import RequestRefused

T = TypeVar("T")


class GrpcConsoleClient:
    """Every call of the console protocol as a gRPC call to the daemon in use; failures are
    raised as ``DaemonUnreachable`` or ``RequestRefused`` in the CLI's words. A daemon that
    cannot be reached hands the next calls, and the watches opened again, to the next address."""

    def __init__(self, clients: list[Client], call_timeout: float = CALL_TIMEOUT) -> None:
        self._backend = Backend(clients, call_timeout)

    @property
    def addr(self) -> str:
        return self._backend.addr

    def close(self) -> None:
        self._backend.close()

    @contextmanager
    def _errors(self, method: str, client: Client) -> Iterator[None]:
        with self._backend.streaming(client):
            try:
                yield
            except GRPCError as exc:
                if exc.status is Status.UNIMPLEMENTED:
                    raise RequestRefused(
                        f"hodeid at {client.addr} does not serve {method}: it is older than this "
                        "console; upgrade it"
                    ) from exc
                raise

    async def _stream(
        self, method: str, open_stream: Callable[[Client], AsyncIterator[T]]
    ) -> AsyncIterator[T]:
        # No timeout on a watch: it lasts as long as the console looks. The stub is annotated
        # as an iterator but is a generator; closing it releases the HTTP/2 stream at once.
        client = self._backend.current
        with self._errors(method, client):
            async with aclosing(cast(AsyncGenerator[T, None], open_stream(client))) as items:
                async for item in items:
                    yield item

    def watch_jobs(self, limit: int) -> AsyncIterator[v1.JobEvent]:
        request = v1.WatchJobsRequest(limit=limit)
        return self._stream("WatchJobs", lambda c: c.jobs.watch_jobs(request))

    def watch_workers(self) -> AsyncIterator[v1.WorkerEvent]:
        request = v1.WatchWorkersRequest()
        return self._stream("WatchWorkers", lambda c: c.workers.watch_workers(request))

    def watch_decisions(self, job_id: str) -> AsyncIterator[v1.Decision]:
        request = v1.WatchDecisionsRequest(job_id=job_id)
        return self._stream("WatchDecisions", lambda c: c.scheduler.watch_decisions(request))

    def stream_logs(self, job_id: str, after_seq: int) -> AsyncIterator[LogChunk]:
        return self._backend.stream_logs(job_id, after_seq, follow=True)

    async def explain_job(self, job_id: str) -> v1.ExplainJobResponse:
        return await self._backend.explain_job(job_id)

    async def list_schedules(self) -> list[v1.Schedule]:
        return await self._backend.list_schedules()

    async def get_job(self, job_id: str) -> v1.Job:
        return await self._backend.get_job(job_id)

    async def submit_job(self, spec: v1.JobSpec) -> v1.Job:
        return (await self._backend.submit_job(spec)).job

    async def cancel_job(self, job_id: str) -> v1.Job:
        return await self._backend.cancel_job(job_id, "cancelled from the console")

    async def retry_job(self, job_id: str) -> v1.Job:
        try:
            return await self._backend.retry_job(job_id)
        except RequestRefused as exc:
            cause = exc.__cause__
            if isinstance(cause, GRPCError) and cause.status is Status.UNIMPLEMENTED:
                raise RequestRefused(
                    f"hodeid at {self.addr} does not serve RetryJob: it is older than this console; "
                    "upgrade it"
                ) from cause
            raise

    async def drain_worker(self, worker_id: str) -> v1.WorkerInfo:
        return await self._backend.drain_worker(worker_id, stay=True)


def connect_console(addrs: str, tls_ca: str | None = None) -> GrpcConsoleClient:
    """A console client for the daemons at ``addrs`` (``HOST:PORT``, or several
    comma-separated), authenticated from the environment (over TLS trusting ``tls_ca`` if
    given). The channels connect lazily: an absent daemon shows as the disconnected banner."""
    return GrpcConsoleClient(open_clients(addrs, tls_ca))
