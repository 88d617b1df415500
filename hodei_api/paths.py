"""Where hodeid keeps its state, and the token files it writes there on first start, so
that clients and workers on the same host find them without being told."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

ADMIN_TOKEN_FILE = "admin.token"
JOIN_TOKEN_FILE = "join.token"


def default_data_dir() -> Path:
    """hodeid's data directory unless ``--data-dir`` says otherwise: ``$HODEI_DATA_DIR``, else
    ``/var/lib/hodei`` as root (never under /root, which the embedded server's own user
    cannot enter), else the user's data directory."""
    if given := os.environ.get("HODEI_DATA_DIR"):
        return Path(given)
    if os.geteuid() == 0:
        return Path("/var/lib/hodei")
    return Path(platformdirs.user_data_dir("hodei"))
