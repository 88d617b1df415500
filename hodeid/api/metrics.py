"""``--metrics-listen``: prometheus-client's HTTP server on the daemon's own registry, and
the gauges it reads kept fresh from the database and the session registry."""

from __future__ import annotations

import asyncio
import logging
from threading import Thread
from wsgiref.simple_server import WSGIServer

from prometheus_client import start_http_server

from hodei_api import v1
from hodeid.control.daemon import Daemon
from hodeid.errors import StoreError
from hodeid.metrics import JOBS, QUEUE_DEPTH, REGISTRY, WAITING_ON_DEPENDENCIES, WORKERS

log = logging.getLogger(__name__)

# How stale the gauges may be; one GROUP BY on the jobs table each time.
REFRESH_SECONDS = 2.0

_JOB_STATES = [s.name for s in v1.JobState if s is not v1.JobState.UNSPECIFIED]


class MetricsEndpoint:
    """Serves ``/metrics`` (in a thread, as prometheus-client does) and refreshes the gauges
    every ``REFRESH_SECONDS``, from ``start`` until ``close``."""

    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon
        self._server: tuple[WSGIServer, Thread] | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self, host: str, port: int) -> None:
        """Set the gauges, serve them (OSError if the address is taken), and keep them fresh
        in a task of the running loop."""
        # A scrape never sees the gauges unset.
        await self.refresh()
        self._server = start_http_server(port, host, registry=REGISTRY)
        self._task = asyncio.create_task(self._run(), name="metrics")

    async def refresh(self) -> None:
        """Set the gauges from the database (jobs) and the live sessions (workers)."""
        counts, waiting = await self.daemon.job_counts()
        for state in _JOB_STATES:
            JOBS.labels(state=state).set(counts.get(state, 0))
        QUEUE_DEPTH.set(counts.get(v1.JobState.PENDING.name, 0) - waiting)
        WAITING_ON_DEPENDENCIES.set(waiting)
        workers = {"ready": 0, "full": 0, "draining": 0}
        for worker in self.daemon.own_workers():
            if worker.draining:
                workers["draining"] += 1
            else:
                workers["ready" if worker.slots_used < worker.slots_total else "full"] += 1
        for state, n in workers.items():
            WORKERS.labels(state=state).set(n)

    async def _run(self) -> None:
        # A database error keeps the last values: the health check reports the database down.
        while True:
            try:
                await self.refresh()
            except StoreError as exc:
                log.warning("metrics not refreshed: %s", exc.message)
            await asyncio.sleep(REFRESH_SECONDS)

    def close(self) -> None:
        """Stop refreshing and serving."""
        if self._task is not None:
            self._task.cancel()
        if self._server is not None:
            server, thread = self._server
            server.shutdown()
            server.server_close()
            thread.join()
