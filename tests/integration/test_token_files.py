"""The token files hodeid writes in its data directory, and their registration."""

from __future__ import annotations

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
