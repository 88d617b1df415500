"""The small interface the console talks to a daemon through.

Widgets and screens use only this protocol, never generated stubs, so the console runs the
same against real daemons (``hodei_tui.backend.Backend``, the CLI's client too) and against fixed
data in snapshot tests.
Every method raises ``DaemonUnreachable`` when the daemon cannot be reached (worth retrying)
and ``RequestRefused`` when it answered no (not).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from hodei_api import v1
from hodei_tui.backend import LogChunk, Submitted


class ConsoleClient(Protocol):
    @property
    def addr(self) -> str:
        """The HOST:PORT of the daemon in use (of several, the one the next call goes to), for
        the title and messages."""
        ...

    def watch_jobs(self, limit: int) -> AsyncIterator[v1.JobEvent]:
        """The newest ``limit`` jobs, a ``listed`` marker, then each job as it changes."""
        ...

    def watch_workers(self) -> AsyncIterator[v1.WorkerEvent]:
        """The workers, a ``listed`` marker, then each worker as it changes."""
        ...

    def watch_decisions(self, job_id: str) -> AsyncIterator[v1.Decision]:
        """The job's placement decisions as the scheduler makes them."""
        ...

    def stream_logs(self, job_id: str, after_seq: int, follow: bool) -> AsyncIterator[LogChunk]:
        """The job's log after ``after_seq``; with ``follow`` until the job ends."""
        ...

    async def explain_job(self, job_id: str) -> v1.ExplainJobResponse:
        """The job's decisions, newest first (a waiting job's evaluated now)."""
        ...

    async def list_schedules(self) -> list[v1.Schedule]:
        """Every schedule, by name."""
        ...

    async def get_job(self, job_id: str) -> v1.Job:
        """One job."""
        ...

    async def submit_job(self, spec: v1.JobSpec) -> Submitted:
        """Queue a job, or find the earlier one with the same idempotency key."""
        ...

    async def cancel_job(self, job_id: str, reason: str = "") -> v1.Job:
        """Ask for a job to be cancelled, for ``reason``."""
        ...

    async def retry_job(self, job_id: str) -> v1.Job:
        """Queue a finished job again as its next attempt."""
        ...

    async def drain_worker(self, worker_id: str, stay: bool) -> v1.WorkerInfo:
        """Stop giving a worker jobs; with ``stay`` it stays connected once idle."""
        ...
