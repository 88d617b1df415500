"""The worker's state directory: its persisted id and the credential that proves it.

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

from hodei_api.names import worker_id_problem
from hodei_api.worker_identity import credential_problem, new_credential
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
        found = self._read(path, "the worker id file")
        if found is None:
            found = self._keep(path, generated_worker_id(), "the worker id file")
        if (problem := worker_id_problem(found)) is not None:
            raise StateError(
                f"the worker id file {path}: {problem}; give --id, or remove the file for a new id"
            )
        return found

    def credential(self, worker_id: str) -> str:
        """The credential kept for ``worker_id``, else a new one, kept before it is first
        presented: whatever becomes of the Hello that presents it, the next start presents
        the same one."""
        path = self.credential_file(worker_id)
        credential = self._read(path, "the credential file")
        if credential is None:
            credential = self._keep(path, new_credential(), "the credential file")
        if (problem := credential_problem(credential)) is not None:
            raise StateError(
                f"the credential file {path} holds no credential hodei-worker made: {problem}; "
                f"remove it to make a new one (then an operator must run 'hodeid worker forget {worker_id}' "
                "if the daemon knows this id)"
            )
        return credential

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

    def _keep(self, path: Path, text: str, what: str) -> str:
        """Keep ``text`` in ``path`` unless the file exists by now; returns what it holds. The
        file appears whole or not at all, and is never replaced: of two starts at once, both
        go on with the one kept."""
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
            os.link(temp, path)
            _sync_dir(self.path)
        except FileExistsError:
            kept = self._read(path, what)
            if kept is None:
                raise StateError(f"{what} {path} is empty; remove it") from None
            return kept
        except OSError as exc:
            raise StateError(
                f"cannot write {path}: {exc.strerror}; check the state directory {self.path}"
            ) from exc
        finally:
            temp.unlink(missing_ok=True)
        return text


def _sync_dir(path: Path) -> None:
    """Make a new entry of ``path`` survive a crash: the credential must outlive the Hello."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
