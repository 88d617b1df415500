"""Where hodeid keeps its state, and the token files it writes there on first start, so
that clients and workers on the same host find them without being told."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

ADMIN_TOKEN_FILE = "admin.token"
JOIN_TOKEN_FILE = "join.token"


def default_data_dir() -> Path:
    """Where the embedded database lives: ``/var/lib/hodei`` as root (never under /root,
    whose permissions the embedded server would open), else the user's data directory."""
    if os.geteuid() == 0:
        return Path("/var/lib/hodei")
    return Path(platformdirs.user_data_dir("hodei"))
