"""The worker's state directory: its kept id and credentials, made once, private, or refused."""

from __future__ import annotations

import os
import re
import socket
import stat
from pathlib import Path

import pytest

from hodei_api.worker_identity import credential_problem, new_credential
from hodei_worker.errors import StateError
from hodei_worker.state import StateDir


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_generated_id_is_kept_for_the_next_start(tmp_path: Path) -> None:
    first = StateDir(tmp_path / "a" / "state").worker_id()
    assert re.fullmatch(rf"{re.escape(socket.gethostname())}-[0-9a-f]{{8}}", first)
    assert StateDir(tmp_path / "a" / "state").worker_id() == first
    assert mode(tmp_path / "a" / "state") == 0o700
    assert mode(tmp_path / "a" / "state" / "worker-id") == 0o600
    assert StateDir(tmp_path / "b").worker_id() != first


def test_a_credential_is_made_once_per_id_kept_private_and_fit(tmp_path: Path) -> None:
    state = StateDir(tmp_path / "state")
    one, two = state.credential("w-1"), state.credential("../w/2")
    assert credential_problem(one) is None and credential_problem(two) is None and one != two
    assert (state.credential("w-1"), StateDir(tmp_path / "state").credential("../w/2")) == (one, two)
    files = sorted(p.name for p in (tmp_path / "state").iterdir())
    assert files == ["..%2Fw%2F2.credential", "w-1.credential"]  # no temporary file left, no escape
    assert all(mode(tmp_path / "state" / name) == 0o600 for name in files)
    assert mode(tmp_path / "state") == 0o700


def test_a_credential_file_made_meanwhile_is_kept_not_replaced(tmp_path: Path) -> None:
    state = StateDir(tmp_path / "state")
    state.worker_id()  # makes the directory
    theirs = new_credential()
    # Another start of the same worker keeps its credential between this one's read and write.
    real_link = os.link

    def link_after_them(src: str | Path, dst: str | Path) -> None:
        Path(dst).write_text(theirs + "\n")
        Path(dst).chmod(0o600)
        real_link(src, dst)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(os, "link", link_after_them)
        assert state.credential("w-1") == theirs
    assert [p.name for p in (tmp_path / "state").iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize(
    ("kept", "problem"),
    [
        ("hodei-wc-short", "followed by 43 to 128 url-safe characters"),
        ("hodei-wc-" + "ab" * 30, "fewer than 16 different characters"),
        ("", "is empty; remove it"),
    ],
)
def test_an_unfit_credential_file_is_refused_with_the_fix(tmp_path: Path, kept: str, problem: str) -> None:
    state = StateDir(tmp_path / "state")
    state.worker_id()
    state.credential_file("w-1").write_text(kept)
    state.credential_file("w-1").chmod(0o600)
    with pytest.raises(StateError, match=problem) as refused:
        state.credential("w-1")
    assert str(state.credential_file("w-1")) in str(refused.value)


@pytest.mark.parametrize("what", ["dir", "file"])
def test_a_state_others_can_write_is_refused_with_the_fix(tmp_path: Path, what: str) -> None:
    state = StateDir(tmp_path / "state")
    state.credential("w-1")
    target = tmp_path / "state" if what == "dir" else state.credential_file("w-1")
    target.chmod(0o777 if what == "dir" else 0o666)
    with pytest.raises(StateError, match=rf"may be written by group or others .*chmod go-w {target}"):
        state.credential("w-1")
    with pytest.raises(StateError, match="may be written by group or others"):
        state.credential("w-2" if what == "dir" else "w-1")


def test_a_credential_file_another_user_owns_is_refused(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("only root can give a file to another user")
    state = StateDir(tmp_path / "state")
    state.credential("w-1")
    os.chown(state.credential_file("w-1"), 65534, 65534)
    with pytest.raises(StateError, match="belongs to uid 65534, not to this user"):
        state.credential("w-1")


def test_a_symlinked_credential_file_is_refused(tmp_path: Path) -> None:
    state = StateDir(tmp_path / "state")
    state.credential("w-0")
    (tmp_path / "elsewhere").write_text(new_credential())
    state.credential_file("w-1").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(StateError, match="is a symbolic link"):
        state.credential("w-1")


def test_a_state_dir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "state").write_text("")
    with pytest.raises(StateError, match="is not a directory"):
        StateDir(tmp_path / "state").worker_id()
