"""A console client that answers from fixed data: the snapshot tests' daemon stand-in. The
real path (Backend against hodeid) is covered by test_live_console.py."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from hodei_api import v1
from hodei_api.loglines import Line
from hodei_tui.backend import LogChunk, Submitted
from hodei_tui.errors import DaemonUnreachable, RequestRefused

NOW = datetime(2026, 3, 14, 9, 26, 53, tzinfo=UTC)


def ago(seconds: float) -> datetime:
    return NOW - timedelta(seconds=seconds)


def job(n: int, state: v1.JobState, command: str, age: float, **fields: object) -> v1.Job:
    return v1.Job(
        id=f"{n:08x}-0000-4000-8000-000000000000",
        spec=v1.JobSpec(name=command, command=["sh", "-c", command]),
        state=state,
        created_at=ago(age),
        **fields,  # type: ignore[arg-type]
    )


# What the finished build used, as its worker's kernel counted it.
BUILT = v1.Usage(
    cpu_user_seconds=83.4, cpu_system_seconds=6.21, max_rss_bytes=1_288_490_189, wall_seconds=512.9
)
JOBS = [
    job(
        1,
        v1.JobState.SUCCEEDED,
        "make test",
        3600,
        attempt=1,
        worker_id="builder-1",
        exit_code=0,
        usage=BUILT,
    ),
    job(2, v1.JobState.FAILED, "pytest -x", 1800, attempt=2, worker_id="builder-2", exit_code=3),
    job(3, v1.JobState.CANCELLED, "sleep 600", 900, attempt=1, worker_id="builder-1"),
    job(4, v1.JobState.TIMED_OUT, "./slow.sh", 600, attempt=1, worker_id="builder-2", signal=9),
    job(5, v1.JobState.RUNNING, "./train.py --epochs 3", 120, attempt=1, worker_id="gpu-1"),
    job(6, v1.JobState.ASSIGNED, "echo hello", 20, attempt=1, worker_id="builder-1"),
    job(7, v1.JobState.PENDING, "nvidia-smi", 5),
]
PENDING_ID = JOBS[-1].id


# The daemon the console is attached to, and another sharing its database.
DAEMON = "3f9c1a07d2b84e6f9a1c5b7d3e2f4a60"
OTHER_DAEMON = "8e41b2c9f0a34d7e8b6c2a1f5d9e7c03"


def worker(
    name: str, live: bool, used: int, total: int, age: float, rtt: float, **labels: str
) -> v1.WorkerInfo:
    return v1.WorkerInfo(
        id=name, hostname=name, labels=labels, live=live, slots_total=total, slots_used=used,
        heartbeat_age_seconds=age, rtt_ms=rtt, reconnects=0 if live else 2, daemon_id=DAEMON,
    )  # fmt: skip


WORKERS = [
    worker("builder-1", True, 1, 2, 0.4, 1.2, zone="a"),
    worker("builder-2", True, 0, 4, 0.9, 3.4, zone="b"),
    worker("gpu-1", False, 1, 1, 42.0, 8.0, gpu="true"),
    # Streams to the other daemon: listed from the database's record.
    v1.WorkerInfo(
        id="builder-3",
        hostname="builder-3",
        labels={"zone": "c"},
        live=True,
        slots_total=2,
        slots_used=1,
        reconnects=1,
        daemon_id=OTHER_DAEMON,
        from_record=True,
    ),
]


def verdict(target: str, kind: str, reason: v1.PlacementReason, message: str) -> v1.Verdict:
    return v1.Verdict(target=target, kind=kind, reason=reason, message=message)


WAITING = v1.Decision(
    job_id=PENDING_ID,
    outcome=v1.PlacementOutcome.UNPLACEABLE,
    strategy="least-loaded",
    verdicts=[
        verdict(
            "builder-1", "worker", v1.PlacementReason.SELECTOR_MISMATCH, "label gpu=true: worker has none"
        ),
        verdict(
            "builder-2", "worker", v1.PlacementReason.SELECTOR_MISMATCH, "label gpu=true: worker has none"
        ),
        verdict("gpu-1", "worker", v1.PlacementReason.STREAM_DOWN, "stream lost 42 s ago"),
        verdict(
            "local", "provider", v1.PlacementReason.PROVIDER_CANNOT_FIT, "provider local: makes no gpu=true"
        ),
    ],
    histogram={"SELECTOR_MISMATCH": 2, "STREAM_DOWN": 1, "PROVIDER_CANNOT_FIT": 1},
    decided_at=NOW,
    duration_ms=0.21,
    daemon_id=DAEMON,
    evaluated=3,
    eligible=0,
    filtered=3,
    exhausted=0,
    summary="no connected worker or provider can take it: 2 selector mismatch, 1 stream down",
)


# The pending job, submitted --after the running one and --after-any the one before it, as
# hodeid explains it while they have not ended.
WAITING_ON_JOBS = v1.Decision(
    job_id=PENDING_ID,
    outcome=v1.PlacementOutcome.WAITING,
    strategy="least-loaded",
    verdicts=[
        verdict(
            JOBS[4].id, "dependency", v1.PlacementReason.WAITING_ON_DEPENDENCY,
            "'./train.py --epochs 3' is RUNNING; --after needs it SUCCEEDED",
        ),
        verdict(
            JOBS[5].id, "dependency", v1.PlacementReason.WAITING_ON_DEPENDENCY,
            "'echo hello' is ASSIGNED; --after-any needs it ended",
        ),
    ],
    histogram={"WAITING_ON_DEPENDENCY": 2},
    decided_at=NOW,
    daemon_id=DAEMON,
    summary=f"WAITING: 2 WAITING_ON_DEPENDENCY: job {JOBS[4].id} './train.py --epochs 3' is RUNNING; "
    f"--after needs it SUCCEEDED, and job {JOBS[5].id} 'echo hello' is ASSIGNED; --after-any needs it ended",
)  # fmt: skip


def log_lines(job_id: str) -> list[Line]:
    base = int(ago(100).timestamp() * 1_000_000)
    lines = [
        Line(n, v1.LogStream.STDERR if n % 5 == 0 else v1.LogStream.STDOUT,
             f"epoch 1 step {n}: loss {1 / n:.4f}\n".encode(), base + n * 1000, 1)
        for n in range(1, 41)
    ]  # fmt: skip
    return lines if job_id == JOBS[4].id else []


def schedule(name: str, in_seconds: float | None, last: v1.Job | None = None, **spec: object) -> v1.Schedule:
    """A schedule whose next run comes ``in_seconds`` after NOW (None: paused)."""
    return v1.Schedule(
        spec=v1.ScheduleSpec(name=name, job=v1.JobSpec(command=["true"]), **spec),  # type: ignore[arg-type]
        paused=in_seconds is None,
        next_run=None if in_seconds is None else NOW + timedelta(seconds=in_seconds),
        last_job_id=last.id if last else "",
        last_job_state=last.state if last else v1.JobState.UNSPECIFIED,
    )


SCHEDULES = [
    schedule("nightly-backup", 63_000, JOBS[0], cron="30 2 * * *", timezone="Europe/Madrid"),
    schedule("heartbeat", 1.5, JOBS[4], every_seconds=2.0),
    schedule("reports", None, every_seconds=5400.0),
]


@dataclass
class ScriptedConsoleClient:
    """Fixed jobs, workers, one waiting job's explanation and one running job's log (or the
    ones given). With ``lose_after_listing`` the watches fail once listed, as when hodeid goes
    away; with ``refusal`` every request is refused in those words."""

    addr: str = "127.0.0.1:50051"
    lose_after_listing: bool = False
    submitted: list[v1.JobSpec] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    jobs: list[v1.Job] = field(default_factory=lambda: list(JOBS))
    workers: list[v1.WorkerInfo] = field(default_factory=lambda: list(WORKERS))
    logs: dict[str, list[Line]] = field(default_factory=lambda: {JOBS[4].id: log_lines(JOBS[4].id)})
    explained: dict[str, v1.Decision] = field(default_factory=lambda: {PENDING_ID: WAITING})
    schedules: list[v1.Schedule] = field(default_factory=lambda: list(SCHEDULES))
    refusal: str | None = None
    unreachable: str = (
        "cannot reach hodeid at 127.0.0.1:50051 (connection refused); start it with 'hodeid' "
        "or point --addr/HODEI_ADDR at a running daemon"
    )
    _listed: asyncio.Barrier | None = None

    async def _hold(self) -> None:
        if self.lose_after_listing:
            # Both watches list before the connection "goes": the snapshot shows their data.
            self._listed = self._listed or asyncio.Barrier(2)
            await self._listed.wait()
            raise DaemonUnreachable(self.unreachable)
        await asyncio.Event().wait()

    async def watch_jobs(self, limit: int) -> AsyncIterator[v1.JobEvent]:
        for listed in self.jobs[:limit]:
            yield v1.JobEvent(job=listed)
        yield v1.JobEvent(listed=True)
        await self._hold()

    async def watch_workers(self) -> AsyncIterator[v1.WorkerEvent]:
        for info in self.workers:
            yield v1.WorkerEvent(worker=info)
        yield v1.WorkerEvent(listed=True)
        await self._hold()

    async def watch_decisions(self, job_id: str) -> AsyncIterator[v1.Decision]:
        await asyncio.Event().wait()
        yield WAITING

    async def stream_logs(self, job_id: str, after_seq: int, follow: bool) -> AsyncIterator[LogChunk]:
        lines = self.logs.get(job_id, [])
        yield LogChunk([line for line in lines if line.seq > after_seq], v1.JobState.UNSPECIFIED)
        await asyncio.Event().wait()

    async def explain_job(self, job_id: str) -> v1.ExplainJobResponse:
        if job_id in self.explained:
            return v1.ExplainJobResponse(state=v1.JobState.PENDING, decisions=[self.explained[job_id]])
        return v1.ExplainJobResponse(state=v1.JobState.SUCCEEDED)

    async def list_schedules(self) -> list[v1.Schedule]:
        return list(self.schedules)

    async def get_job(self, job_id: str) -> v1.Job:
        raise RequestRefused(f"job {job_id} not found")

    async def submit_job(self, spec: v1.JobSpec) -> Submitted:
        if self.refusal is not None:
            raise RequestRefused(self.refusal)
        self.submitted.append(spec)
        return Submitted(job(99, v1.JobState.PENDING, " ".join(spec.command), 0), existing=False)

    async def cancel_job(self, job_id: str, reason: str = "") -> v1.Job:
        self.cancelled.append(job_id)
        raise RequestRefused(self.refusal or "scripted: not cancelled")

    async def retry_job(self, job_id: str) -> v1.Job:
        raise RequestRefused("this hodeid cannot retry jobs yet (RetryJob is not served); upgrade it")

    async def drain_worker(self, worker_id: str, stay: bool) -> v1.WorkerInfo:
        raise RequestRefused(self.refusal or "scripted: not drained")
