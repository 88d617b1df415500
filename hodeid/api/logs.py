"""LogService: a job's log, history then live."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import aclosing

from hodei_api import v1
from hodeid.api.errors import grpc_errors
from hodeid.api.streams import ClosingStreams
from hodeid.control.daemon import Daemon


class LogService(ClosingStreams, v1.LogServiceBase):
    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon

    async def stream_logs(self, message: v1.StreamLogsRequest) -> AsyncIterator[v1.LogChunk]:
        with grpc_errors():
            chunks = self.daemon.stream_logs(message.job_id, message.after_seq, message.follow)
            async with aclosing(chunks):
                async for lines, final in chunks:
                    yield v1.LogChunk(lines=lines, final_state=final or v1.JobState.UNSPECIFIED)
