"""How the daemons sharing a database look on the terminal and as JSON."""

from __future__ import annotations

from hodei_api import v1
from hodei_tui.cli.render import NONE, clip, iso, table

DAEMON_COLUMNS = ("ID", "ADDRESS", "VERSION", "LEASE AGE", "LEADER", "WORKERS", "STATE")
# Daemon ids are 32 hex digits; this many tell them apart in a table (as git's short hashes).
SHORT_ID = 8
# The WORKERS cell names the first workers up to this width; JSON has them all.
WORKERS_WIDTH = 32
ANSWERED = "*"


def short_id(daemon_id: str) -> str:
    """The first ``SHORT_ID`` characters of a daemon's id, or ``-`` for none."""
    return daemon_id[:SHORT_ID] or NONE


def daemon_to_dict(daemon: v1.DaemonInfo, answered_by: str) -> dict[str, object]:
    """Every ``DaemonInfo`` field under its proto (snake_case) name, and whether it answered."""
    return {
        "id": daemon.id,
        "address": daemon.address,
        "version": daemon.version,
        "started_at": iso(daemon.started_at),
        "lease_age_seconds": daemon.lease_age_seconds,
        "live": daemon.live,
        "leader": daemon.leader,
        "workers": list(daemon.workers),
        "stopped_at": iso(daemon.stopped_at),
        "answered": daemon.id == answered_by,
    }


def state_text(daemon: v1.DaemonInfo) -> str:
    """``live``; ``stopped`` when it ended its lease; ``lapsed`` when the lease ran out (it
    died, hung or lost the database)."""
    if daemon.live:
        return "live"
    return "stopped" if daemon.stopped_at is not None else "lapsed"


def workers_text(workers: list[str]) -> str:
    """How many, then their ids as far as they fit: ``2 (w1,w2)``."""
    if not workers:
        return "0"
    return clip(f"{len(workers)} ({','.join(workers)})", WORKERS_WIDTH)


def daemons_table(listed: v1.ListDaemonsResponse) -> str:
    """``daemon list``: one row per daemon, oldest first; the one that answered marked ``*``."""
    if not listed.daemons:
        return "no daemon is recorded on this database"
    rows = [
        (
            short_id(d.id) + (ANSWERED if d.id == listed.answered_by else ""),
            d.address or NONE,
            d.version,
            f"{d.lease_age_seconds:.1f}s",
            "yes" if d.leader else "no",
            workers_text(list(d.workers)),
            state_text(d),
        )
        for d in listed.daemons
    ]
    return f"{table(DAEMON_COLUMNS, rows)}\n{ANSWERED} answered this call"
