"""How workers look on the terminal and as JSON."""

from __future__ import annotations

from hodei_api import v1
from hodei_tui.cli.render import NONE, iso, number, resources_dict, table
from hodei_tui.cli.render_daemons import short_id

# SLOTS, CPU and MEM all read used/total, as the console's slots do; the headers say so.
WORKER_COLUMNS = (
    "ID",
    "DAEMON",
    "LIVE",
    "SLOTS USED",
    "CPU USED",
    "MEM USED",
    "HEARTBEAT",
    "RTT",
    "LABELS",
    "DRAINING",
)


def worker_to_dict(worker: v1.WorkerInfo) -> dict[str, object]:
    """Every ``WorkerInfo`` field under its proto (snake_case) name."""
    return {
        "id": worker.id,
        "hostname": worker.hostname,
        "labels": dict(worker.labels),
        "live": worker.live,
        "draining": worker.draining,
        "slots_total": worker.slots_total,
        "slots_used": worker.slots_used,
        "resources_total": resources_dict(worker.resources_total),
        "resources_free": resources_dict(worker.resources_free),
        "heartbeat_age_seconds": worker.heartbeat_age_seconds,
        "rtt_ms": worker.rtt_ms,
        "connected_at": iso(worker.connected_at),
        "last_seen_at": iso(worker.last_seen_at),
        "reconnects": worker.reconnects,
        "version": worker.version,
        "daemon_id": worker.daemon_id,
        "from_record": worker.from_record,
    }


def used_of_total(free: v1.Resources | None, total: v1.Resources | None) -> tuple[str, str]:
    """The CPU and MEM cells: ``used/total`` each (what the scheduler counts as taken), ``-``
    when the worker reported none."""
    if total is None:
        return NONE, NONE
    free = free or v1.Resources()
    return (
        f"{number(round(total.cpu - free.cpu, 3))}/{number(total.cpu)}",
        f"{total.memory_mb - free.memory_mb}/{total.memory_mb} MB",
    )


def labels_text(labels: dict[str, str]) -> str:
    """``k=v,k=v`` sorted by key, so rows compare at a glance."""
    return ",".join(f"{key}={value}" for key, value in sorted(labels.items())) or NONE


def workers_table(workers: list[v1.WorkerInfo]) -> str:
    """``worker list``: one row per worker, in the order given, with the daemon it streams to."""
    rows = []
    for worker in workers:
        cpu, mem = used_of_total(worker.resources_free, worker.resources_total)
        # Of a worker streaming to another daemon only that daemon knows the heartbeat, RTT
        # and drain.
        known = not worker.from_record
        rows.append(
            (
                worker.id,
                short_id(worker.daemon_id),
                "yes" if worker.live else "no",
                f"{worker.slots_used}/{worker.slots_total}",
                cpu,
                mem,
                f"{worker.heartbeat_age_seconds:.1f}s" if known else NONE,
                f"{worker.rtt_ms:.1f}ms" if known and worker.rtt_ms else NONE,  # none measured yet
                labels_text(worker.labels),
                ("yes" if worker.draining else "no") if known else NONE,
            )
        )
    return table(WORKER_COLUMNS, rows)
