"""The worker's state directory: its persisted id and the credential the daemon bound to it.

It holds secrets, so it is private: the directory is made 0700 and each file 0600, and a
directory or file that another user owns or that group or others may write is refused, since
whoever can write there could swap the worker's identity.
"""

from __future__ import annotations

import os
import secrets
import socket
import stat
from pathlib import Path
from urllib.parse import quote

import platformdirs

from hodei_worker.errors import StateError

ID_FILE = "worker-id"


def default_state_dir() -> Path:
    """``/var/lib/hodei-worker`` as root, else the user's data directory for hodei-worker."""
    if os.geteuid() == 0:
        return Path("/var/lib/hodei-worker")
    return Path(platformdirs.user_data_dir("hodei-worker"))


def generated_worker_id() -> str:
    """``<hostname>-<8 hex digits>``: readable, and unique among workers on one host."""
    return f"{socket.gethostname()}-{secrets.token_hex(4)}"


def _check_private(path: Path, what: str) -> None:
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode):
        raise StateError(f"{what} {path} is a symbolic link; remove it, or give another --state-dir")
    if info.st_uid != os.geteuid():
        raise StateError(
            f"{what} {path} belongs to uid {info.st_uid}, not to this user (uid {os.geteuid()}); "
            "run the worker as its owner, or give a --state-dir of this user's"
        )
    if info.st_mode & 0o022:
        raise StateError(
            f"{what} {path} may be written by group or others (mode {stat.S_IMODE(info.st_mode):04o}); "
            f"make it private (chmod go-w {path}) or give another --state-dir"
        )


class StateDir:
    """The state directory at ``path``. It is made (0700) only when something is first kept
    there, so a worker that has nothing to keep (a provisioned one, given its --id) never
    touches it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def credential_file(self, worker_id: str) -> Path:
        """Where the credential of ``worker_id`` is kept (one file per id, so workers with
        different --id values may share a state directory)."""
        return self.path / f"{quote(worker_id, safe='')}.credential"

    def worker_id(self) -> str:
        """The id kept here by an earlier start, else a new one, kept for the next start."""
        path = self.path / ID_FILE
        if (found := self._read(path, "the worker id file")) is not None:
            return found
        worker_id = generated_worker_id()
        self._write(path, worker_id)
        return worker_id

    def credential(self, worker_id: str) -> str:
        """The credential kept for ``worker_id``, or an empty string if there is none yet."""
        return self._read(self.credential_file(worker_id), "the credential file") or ""

    def save_credential(self, worker_id: str, credential: str) -> None:
        """Keep ``credential`` for ``worker_id``, replacing the file whole or not at all."""
        self._write(self.credential_file(worker_id), credential)

    def _check_dir(self) -> None:
        if not self.path.is_dir():
            raise StateError(f"the state directory {self.path} is not a directory; give another --state-dir")
        _check_private(self.path, "the state directory")

    def _read(self, path: Path, what: str) -> str | None:
        if not self.path.exists():
            return None
        self._check_dir()
        try:
            _check_private(path, what)
            return path.read_text().strip() or None
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StateError(f"cannot read {what} {path}: {exc.strerror}") from exc

    def _write(self, path: Path, text: str) -> None:
        try:
            self.path.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise StateError(
                f"cannot create the state directory {self.path}: {exc.strerror}; give a --state-dir "
                "(HODEI_STATE_DIR) this user may write"
            ) from exc
        self._check_dir()
        temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as file:
                file.write(text + "\n")
                file.flush()
                os.fsync(file.fileno())
            os.replace(temp, path)
        except OSError as exc:
            temp.unlink(missing_ok=True)
            raise StateError(
                f"cannot write {path}: {exc.strerror}; check the state directory {self.path}"
            ) from exc
