"""The token files hodeid writes in its data directory, and their registration."""

from __future__ import annotations

import os
from pathlib import Path

import asyncpg
import pytest

from hodeid.control import tokenfiles
from hodeid.control.apitokens import ApiTokens
from hodeid.domain.access import Role
from hodeid.errors import ConfigError
from hodeid.store.tokens import TokenStore


def test_files_are_written_once_readable_by_their_owner_only(tmp_path: Path) -> None:
    data = tmp_path / "data"
    path, token = tokenfiles.admin_token(data)
    join = tokenfiles.join_token(data)
    assert path.stat().st_mode & 0o777 == 0o600
    assert (data / "join.token").stat().st_mode & 0o777 == 0o600
    assert data.stat().st_mode & 0o777 == 0o700
    assert tokenfiles.admin_token(data) == (path, token)
    assert tokenfiles.join_token(data) == join
    assert token.startswith("hodei_") and join.startswith("hodei-join-")


def test_an_empty_file_is_refused_with_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "join.token").write_text("\n")
    with pytest.raises(ConfigError, match="is empty; delete it and restart hodeid"):
        tokenfiles.join_token(tmp_path)


async def test_the_admin_token_is_registered_once_and_a_revoked_one_is_reported(
    tmp_path: Path, pool: asyncpg.Pool, caplog: pytest.LogCaptureFixture
) -> None:
    tokens = ApiTokens(TokenStore(pool))
    path, token = tokenfiles.admin_token(tmp_path)
    await tokenfiles.register_admin(path, token, tokens)
    await tokenfiles.register_admin(path, token, tokens)
    caller = await tokens.verify(token)
    assert caller.role is Role.ADMIN
    assert [row.name for row in await tokens.all()] == [caller.name]
    await tokens.revoke(caller.token_id)
    await tokenfiles.register_admin(path, token, tokens)
    assert "was revoked" in caplog.text and "delete the file and restart hodeid" in caplog.text


def test_a_shared_data_dir_with_a_planted_token_is_refused(tmp_path: Path) -> None:
    # What a local user prepares in /tmp for root's hodeid to pick up.
    shared = tmp_path / "hodei-shared"
    shared.mkdir()
    shared.chmod(0o777)
    (shared / "admin.token").write_text("hodei_planted.secret\n")
    expected = rf"refusing {shared}: it is writable by others \(mode 0777\); run 'chown"
    with pytest.raises(ConfigError, match=expected):
        tokenfiles.admin_token(shared)


@pytest.mark.parametrize(("mode", "whom"), [(0o666, "others"), (0o620, "its group")])
def test_a_token_file_others_can_write_is_refused(tmp_path: Path, mode: int, whom: str) -> None:
    path = tmp_path / "join.token"
    path.write_text("hodei-join-theirs\n")
    path.chmod(mode)
    with pytest.raises(ConfigError, match=rf"refusing {path}: it is writable by {whom}.*chmod 600"):
        tokenfiles.join_token(tmp_path)


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
def test_a_token_file_owned_by_another_user_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "admin.token"
    path.write_text("hodei_planted.secret\n")
    path.chmod(0o600)
    os.chown(path, 65534, 65534)
    expected = rf"refusing {path}: it is owned by uid 65534, not by you \(uid 0\)"
    with pytest.raises(ConfigError, match=expected):
        tokenfiles.admin_token(tmp_path)


def test_a_data_dir_in_a_folder_others_can_write_is_refused(tmp_path: Path) -> None:
    # Without the sticky bit anyone may rename the data directory and put their own in place.
    open_folder = tmp_path / "open"
    open_folder.mkdir()
    open_folder.chmod(0o777)
    with pytest.raises(ConfigError, match=rf"refusing {open_folder}: it is writable by others.*chmod go-w"):
        tokenfiles.join_token(open_folder / "data")


def test_a_data_dir_in_a_sticky_folder_is_accepted(tmp_path: Path) -> None:
    sticky = tmp_path / "tmp"
    sticky.mkdir()
    sticky.chmod(0o1777)
    assert tokenfiles.join_token(sticky / "data").startswith("hodei-join-")
