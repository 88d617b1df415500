"""JobService: submit, get, list, cancel, retry, watch."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

from hodei_api import v1
from hodeid.api.auth import CALLER
from hodeid.api.errors import grpc_errors
from hodeid.api.streams import ClosingStreams
from hodeid.control.daemon import Daemon
from hodeid.domain.access import Role
from hodeid.domain.redaction import hide_env_values
from hodeid.errors import InvalidRequest


def _shown(job: v1.Job) -> v1.Job:
    """``job`` as the caller may see it: an admin (who may submit them) sees env values, a
    reader only their names."""
    caller = CALLER.get()
    return job if caller is not None and caller.role is Role.ADMIN else hide_env_values(job)


class JobService(ClosingStreams, v1.JobServiceBase):
    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon

    async def submit_job(self, message: v1.SubmitJobRequest) -> v1.SubmitJobResponse:
        with grpc_errors():
            if message.spec is None:
                raise InvalidRequest("SubmitJobRequest.spec is missing")
            caller = CALLER.get()
            job, existing = await self.daemon.submit(message.spec, caller.token_id if caller else None)
        return v1.SubmitJobResponse(job=job, existing=existing)

    async def get_job(self, message: v1.GetJobRequest) -> v1.Job:
        with grpc_errors():
            return _shown(await self.daemon.get(message.id))

    async def list_jobs(self, message: v1.ListJobsRequest) -> v1.ListJobsResponse:
        with grpc_errors():
            jobs, token, total = await self.daemon.page(
                list(message.states), message.limit, message.page_token
            )
        return v1.ListJobsResponse(jobs=[_shown(job) for job in jobs], next_page_token=token, total=total)

    async def cancel_job(self, message: v1.CancelJobRequest) -> v1.Job:
        with grpc_errors():
            caller = CALLER.get()
            return await self.daemon.cancel(message.id, message.reason, caller.name if caller else "")

    async def retry_job(self, message: v1.RetryJobRequest) -> v1.Job:
        with grpc_errors():
            return await self.daemon.retry(message.id)

    async def watch_jobs(self, message: v1.WatchJobsRequest) -> AsyncIterator[v1.JobEvent]:
        with grpc_errors():
            async for event in self.daemon.watch_jobs(message.limit):
                yield replace(event, job=_shown(event.job)) if event.job is not None else event
