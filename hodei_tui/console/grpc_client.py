"""The console's client protocol over a real daemon (``hodei_api.client.Client``)."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from contextlib import aclosing, contextmanager
from typing import TypeVar, cast

from grpclib.const import Status
from grpclib.exceptions import GRPCError, ProtocolError, StreamTerminatedError

from hodei_api import v1
from hodei_api.client import Client
from hodei_tui.backend import CALL_TIMEOUT, Backend, LogChunk, open_client, translate
from hodei_tui.errors import RequestRefused

T = TypeVar("T")


class GrpcConsoleClient:
    """Every call of the console protocol as a gRPC call to one daemon; failures are raised as
    ``DaemonUnreachable`` or ``RequestRefused`` in the CLI's words."""

    def __init__(self, client: Client, call_timeout: float = CALL_TIMEOUT) -> None:
        self._client = client
        self._backend = Backend(client, call_timeout)
        self._timeout = call_timeout

    @property
    def addr(self) -> str:
        return self._client.addr

    def close(self) -> None:
        self._client.close()

    @contextmanager
    def _errors(self, method: str) -> Iterator[None]:
        try:
            yield
        except GRPCError as exc:
            if exc.status is Status.UNIMPLEMENTED:
                raise RequestRefused(
                    f"hodeid at {self.addr} does not serve {method}: it is older than this "
                    "console; upgrade it"
                ) from exc
            raise translate(self.addr, exc, self._client.token_origin) from exc
        except (OSError, StreamTerminatedError, ProtocolError) as exc:
            raise translate(self.addr, exc, self._client.token_origin) from exc

    async def _stream(self, method: str, stream: AsyncIterator[T]) -> AsyncIterator[T]:
        # No timeout on a watch: it lasts as long as the console looks. The stub is annotated
        # as an iterator but is a generator; closing it releases the HTTP/2 stream at once.
        with self._errors(method):
            async with aclosing(cast(AsyncGenerator[T, None], stream)) as items:
                async for item in items:
                    yield item

    def watch_jobs(self, limit: int) -> AsyncIterator[v1.JobEvent]:
        return self._stream("WatchJobs", self._client.jobs.watch_jobs(v1.WatchJobsRequest(limit=limit)))

    def watch_workers(self) -> AsyncIterator[v1.WorkerEvent]:
        return self._stream("WatchWorkers", self._client.workers.watch_workers(v1.WatchWorkersRequest()))

    def watch_decisions(self, job_id: str) -> AsyncIterator[v1.Decision]:
        request = v1.WatchDecisionsRequest(job_id=job_id)
        return self._stream("WatchDecisions", self._client.scheduler.watch_decisions(request))

    def stream_logs(self, job_id: str, after_seq: int) -> AsyncIterator[LogChunk]:
        return self._backend.stream_logs(job_id, after_seq, follow=True)

    async def explain_job(self, job_id: str) -> v1.ExplainJobResponse:
        return await self._backend.explain_job(job_id)

    async def get_job(self, job_id: str) -> v1.Job:
        return await self._backend.get_job(job_id)

    async def submit_job(self, spec: v1.JobSpec) -> v1.Job:
        return (await self._backend.submit_job(spec)).job

    async def cancel_job(self, job_id: str) -> v1.Job:
        return await self._backend.cancel_job(job_id, "cancelled from the console")

    async def retry_job(self, job_id: str) -> v1.Job:
        with self._errors("RetryJob"):
            return await self._client.jobs.retry_job(v1.RetryJobRequest(id=job_id), timeout=self._timeout)

    async def drain_worker(self, worker_id: str) -> v1.WorkerInfo:
        return await self._backend.drain_worker(worker_id, stay=True)


def connect_console(addr: str, tls_ca: str | None = None) -> GrpcConsoleClient:
    """A console client for the daemon at ``addr``, authenticated from the environment (over
    TLS trusting ``tls_ca`` if given). The
    channel connects lazily: an absent daemon shows as the disconnected banner."""
    return GrpcConsoleClient(open_client(addr, tls_ca))
