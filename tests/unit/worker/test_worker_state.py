"""The worker's state directory: its kept id and credentials, private or refused."""

from __future__ import annotations

import os
import re
import socket
import stat
from pathlib import Path

import pytest

from hodei_worker.errors import StateError
from hodei_worker.state import StateDir


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_reading_a_missing_state_dir_finds_nothing_and_makes_nothing(tmp_path: Path) -> None:
    state = StateDir(tmp_path / "state")
    assert state.credential("w-1") == ""
    assert not (tmp_path / "state").exists()


def test_the_generated_id_is_kept_for_the_next_start(tmp_path: Path) -> None:
    first = StateDir(tmp_path / "a" / "state").worker_id()
    assert re.fullmatch(rf"{re.escape(socket.gethostname())}-[0-9a-f]{{8}}", first)
    assert StateDir(tmp_path / "a" / "state").worker_id() == first
    assert mode(tmp_path / "a" / "state") == 0o700
    assert mode(tmp_path / "a" / "state" / "worker-id") == 0o600
    assert StateDir(tmp_path / "b").worker_id() != first


def test_a_credential_is_kept_per_id_whole_and_private(tmp_path: Path) -> None:
    state = StateDir(tmp_path / "state")
    state.save_credential("w-1", "hodei-wc-one")
    state.save_credential("../w/2", "hodei-wc-two")
    state.save_credential("w-1", "hodei-wc-three")
    assert (state.credential("w-1"), state.credential("../w/2"), state.credential("w-3")) == (
        "hodei-wc-three", "hodei-wc-two", "",
    )  # fmt: skip
    files = sorted(p.name for p in (tmp_path / "state").iterdir())
    assert files == ["..%2Fw%2F2.credential", "w-1.credential"]  # no temporary file left, no escape
    assert all(mode(tmp_path / "state" / name) == 0o600 for name in files)


@pytest.mark.parametrize("what", ["dir", "file"])
def test_a_state_others_can_write_is_refused_with_the_fix(tmp_path: Path, what: str) -> None:
    state = StateDir(tmp_path / "state")
    state.save_credential("w-1", "hodei-wc-one")
    target = tmp_path / "state" if what == "dir" else state.credential_file("w-1")
    target.chmod(0o777 if what == "dir" else 0o666)
    with pytest.raises(StateError, match=rf"may be written by group or others .*chmod go-w {target}"):
        state.credential("w-1")
    if what == "dir":
        with pytest.raises(StateError, match="may be written by group or others"):
            state.save_credential("w-1", "hodei-wc-two")
    else:  # a new credential replaces the file whole, private again
        state.save_credential("w-1", "hodei-wc-two")
        assert (state.credential("w-1"), mode(target)) == ("hodei-wc-two", 0o600)


def test_a_credential_file_another_user_owns_is_refused(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("only root can give a file to another user")
    state = StateDir(tmp_path / "state")
    state.save_credential("w-1", "planted")
    os.chown(state.credential_file("w-1"), 65534, 65534)
    with pytest.raises(StateError, match="belongs to uid 65534, not to this user"):
        state.credential("w-1")


def test_a_symlinked_credential_file_is_refused(tmp_path: Path) -> None:
    state = StateDir(tmp_path / "state")
    state.save_credential("w-0", "x")
    (tmp_path / "elsewhere").write_text("planted")
    state.credential_file("w-1").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(StateError, match="is a symbolic link"):
        state.credential("w-1")


def test_a_state_dir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "state").write_text("")
    with pytest.raises(StateError, match="is not a directory"):
        StateDir(tmp_path / "state").worker_id()
