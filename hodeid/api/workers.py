"""WorkerService: the agents' Connect stream, and what operators ask about workers."""

from __future__ import annotations

from collections.abc import AsyncIterator

from hodei_api import v1
from hodeid.api.errors import grpc_errors
from hodeid.api.streams import ClosingStreams
from hodeid.control.daemon import Daemon


class WorkerService(ClosingStreams, v1.WorkerServiceBase):
    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon

    async def connect(self, messages: AsyncIterator[v1.WorkerMessage]) -> AsyncIterator[v1.DaemonMessage]:
        with grpc_errors():
            async for message in self.daemon.sessions.serve(messages):
                yield message

    async def list_workers(self, message: v1.ListWorkersRequest) -> v1.ListWorkersResponse:
        return v1.ListWorkersResponse(workers=await self.daemon.workers(message.include_gone))

    async def drain_worker(self, message: v1.DrainWorkerRequest) -> v1.WorkerInfo:
        with grpc_errors():
            return self.daemon.drain(message.id, message.stay)

    async def watch_workers(self, message: v1.WatchWorkersRequest) -> AsyncIterator[v1.WorkerEvent]:
        async for event in self.daemon.watch_workers():
            yield event
