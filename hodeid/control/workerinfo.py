"""A worker as the contract's WorkerInfo: from this daemon's live session, or from the
database's record of a worker streaming to another daemon."""

from __future__ import annotations

from hodei_api import v1
from hodeid.control.registry import Session
from hodeid.store.workers import RecordedWorker


def worker_info(session: Session, now: float, daemon_id: str) -> v1.WorkerInfo:
    state = session.state(now)
    return v1.WorkerInfo(
        id=session.worker_id,
        hostname=session.hello.hostname,
        labels=dict(session.hello.labels),
        live=not session.closed,
        draining=session.draining,
        slots_total=state.slots_total,
        slots_used=state.slots_used,
        resources_total=v1.Resources(cpu=state.cpu_total, memory_mb=state.memory_total),
        resources_free=v1.Resources(
            cpu=state.cpu_total - state.cpu_used, memory_mb=state.memory_total - state.memory_used
        ),
        heartbeat_age_seconds=state.heartbeat_age,
        rtt_ms=session.rtt_ms,
        connected_at=session.connected_at,
        reconnects=session.reconnects,
        version=session.hello.version,
        daemon_id=daemon_id,
    )


def recorded_info(worker: RecordedWorker) -> v1.WorkerInfo:
    """Live while its daemon's lease holds; slots and resources used are its jobs there that
    are ASSIGNED or RUNNING. Its heartbeat and RTT only its daemon knows: they stay 0, and
    whether it drains too."""
    return v1.WorkerInfo(
        id=worker.id,
        hostname=worker.hostname,
        labels=dict(worker.labels),
        live=worker.live,
        slots_total=worker.slots,
        slots_used=worker.jobs,
        resources_total=v1.Resources(cpu=worker.cpu, memory_mb=worker.memory_mb),
        resources_free=v1.Resources(
            cpu=worker.cpu - worker.cpu_used, memory_mb=worker.memory_mb - worker.memory_used
        ),
        connected_at=worker.attached_at,
        last_seen_at=worker.last_seen_at,
        reconnects=max(0, worker.sessions - 1),
        version=worker.version,
        daemon_id=worker.daemon_id,
        from_record=True,
    )
