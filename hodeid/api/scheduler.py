"""SchedulerService: why a job went where it went, or why it waits."""

from __future__ import annotations

from collections.abc import AsyncIterator

from hodei_api import v1
from hodeid.api.errors import grpc_errors
from hodeid.api.streams import ClosingStreams
from hodeid.control.daemon import Daemon


class SchedulerService(ClosingStreams, v1.SchedulerServiceBase):
    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon

    async def explain_job(self, message: v1.ExplainJobRequest) -> v1.ExplainJobResponse:
        with grpc_errors():
            return await self.daemon.explain(message.id)

    async def watch_decisions(self, message: v1.WatchDecisionsRequest) -> AsyncIterator[v1.Decision]:
        async for decision in self.daemon.watch_decisions(message.job_id):
            yield decision
