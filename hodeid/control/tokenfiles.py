"""The token files hodeid writes in its data directory on first start (mode 0600): the
admin token local clients read, and the cluster join token local workers read."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from hodei_api.paths import ADMIN_TOKEN_FILE, JOIN_TOKEN_FILE
from hodeid import safepaths
from hodeid.control.apitokens import ApiTokens, new_token
from hodeid.domain.access import Role
from hodeid.errors import ConfigError, Unauthenticated

log = logging.getLogger(__name__)

JOIN_PREFIX = "hodei-join-"


def _write_new(path: Path, token: str) -> bool:
    """Write ``token`` to ``path`` readable by its owner only, unless the file exists
    (another daemon on this data directory may have just written it); True if written."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as file:
        file.write(token + "\n")
    return True


def _data_dir(data_dir: Path) -> None:
    """Make ``data_dir`` if missing, and refuse one another user could have planted
    tokens in (owned by someone else, or writable by group or others)."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    safepaths.check_dir(data_dir)


def _read(path: Path) -> str:
    safepaths.check_file(path)
    try:
        token = path.read_text().strip()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}; fix its permissions or delete it") from exc
    if not token:
        raise ConfigError(f"{path} is empty; delete it and restart hodeid to get a new token")
    return token


def admin_token(data_dir: Path) -> tuple[Path, str]:
    """The ``admin.token`` file in ``data_dir`` and its token, written on first start."""
    _data_dir(data_dir)
    path = data_dir / ADMIN_TOKEN_FILE
    if _write_new(path, new_token()[1]):
        log.info("admin token written to %s (mode 0600); hodei on this host reads it by itself", path)
    return path, _read(path)


async def register_admin(path: Path, token: str, tokens: ApiTokens) -> None:
    """Make the token of the ``admin.token`` file at ``path`` known to the database (a new
    database, or one shared with other daemons, has not seen it); warn if it was revoked."""
    if await tokens.register(token, "admin", Role.ADMIN):
        log.info("admin token of %s registered in the database", path)
    try:
        await tokens.verify(token)
    except Unauthenticated as exc:
        log.warning("%s: %s; delete the file and restart hodeid for a new one", path, exc.message)


def join_token(data_dir: Path) -> str:
    """The cluster join token from ``join.token`` in ``data_dir``, written on first start."""
    _data_dir(data_dir)
    path = data_dir / JOIN_TOKEN_FILE
    if _write_new(path, JOIN_PREFIX + secrets.token_urlsafe(32)):
        log.info("cluster join token written to %s (mode 0600); workers on this host read it by itself", path)
    return _read(path)
