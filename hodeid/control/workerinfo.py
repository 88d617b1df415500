"""A worker session as the contract's WorkerInfo."""

from __future__ import annotations

from hodei_api import v1
from hodeid.control.registry import Session


def worker_info(session: Session, now: float) -> v1.WorkerInfo:
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
    )
