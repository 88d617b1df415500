"""Which owners and modes make a data directory, a secret file or a folder above them
unsafe (OpenSSH StrictModes style), and who the embedded server's user may pass through."""

from __future__ import annotations

import stat

import pytest

from hodeid.safepaths import Entry, problem
from hodeid.store.embedded_account import Account, can_traverse

ME = 1000
ROOT = 0
OTHER = 1001
DIR = stat.S_IFDIR
FILE = stat.S_IFREG


@pytest.mark.parametrize(
    ("mode", "uid", "me", "target", "expected"),
    [
        # the data directory or a secret file: owned by the daemon's user, nobody else writes
        (DIR | 0o700, ME, ME, True, None),
        (DIR | 0o755, ME, ME, True, None),
        (DIR | 0o710, ROOT, ROOT, True, None),
        (FILE | 0o600, ME, ME, True, None),
        (FILE | 0o644, ME, ME, True, None),
        (DIR | 0o700, OTHER, ME, True, "owned by uid 1001, not by you (uid 1000)"),
        (DIR | 0o700, ROOT, ME, True, "owned by uid 0, not by you (uid 1000)"),
        (FILE | 0o600, OTHER, ROOT, True, "owned by uid 1001, not by you (uid 0)"),
        (DIR | 0o777, ME, ME, True, "writable by others (mode 0777)"),
        (DIR | 0o770, ME, ME, True, "writable by its group (mode 0770)"),
        (FILE | 0o666, ME, ME, True, "writable by others (mode 0666)"),
        (FILE | 0o620, ME, ME, True, "writable by its group (mode 0620)"),
        # the sticky bit protects a folder's entries, not a target that others can write
        (DIR | stat.S_ISVTX | 0o777, ME, ME, True, "writable by others (mode 1777)"),
        # a folder above: owned by root or the daemon's user, writable by nobody else
        (DIR | 0o755, ROOT, ME, False, None),
        (DIR | 0o755, ME, ME, False, None),
        (DIR | stat.S_ISVTX | 0o777, ROOT, ME, False, None),
        (DIR | 0o755, OTHER, ME, False, "owned by uid 1001, not by you or root (uid 1000)"),
        (DIR | 0o777, ROOT, ME, False, "writable by others (mode 0777)"),
        (DIR | 0o775, ROOT, ROOT, False, "writable by its group (mode 0775)"),
    ],
)
def test_problem(mode: int, uid: int, me: int, target: bool, expected: str | None) -> None:
    found = problem(Entry(mode, uid), me, target=target)
    if expected is None:
        assert found is None
    else:
        assert found is not None and found.endswith(expected)


SERVER = Account("hodei-postgres", uid=990, gid=985, switch=True)


@pytest.mark.parametrize(
    ("mode", "uid", "gid", "expected"),
    [
        (0o700, 990, 0, True),
        (0o070, 990, 985, False),  # the owner's bits decide for the owner
        (0o710, ROOT, 985, True),
        (0o700, ROOT, 985, False),
        (0o701, ROOT, 985, False),  # the group's bits decide for its members
        (0o711, ROOT, ROOT, True),
        (0o750, ROOT, ROOT, False),  # root's group is not the server's
        (0o755, ME, ME, True),
        (0o750, ME, ME, False),
    ],
)
def test_can_traverse(mode: int, uid: int, gid: int, expected: bool) -> None:
    assert can_traverse(mode, uid, gid, SERVER) is expected
