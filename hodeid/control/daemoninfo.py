"""The daemons sharing the database as the contract's DaemonInfo."""

from __future__ import annotations

from hodei_api import v1
from hodeid.store.daemons import DaemonRow


def daemon_infos(rows: list[DaemonRow], me: str, leading: bool) -> list[v1.DaemonInfo]:
    """``me`` knows whether it leads (it holds the lock); the others' lead is what the leader
    recorded. While the lead passes, the daemon answering that it leads is the only leader."""
    return [
        v1.DaemonInfo(
            id=row.id,
            address=row.address,
            version=row.version,
            started_at=row.started_at,
            lease_age_seconds=row.lease_age,
            live=row.live,
            leader=leading if row.id == me else row.leading and not leading,
            workers=row.workers,
            stopped_at=row.stopped_at,
        )
        for row in rows
    ]
