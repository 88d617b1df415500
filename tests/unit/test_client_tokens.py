"""How clients and workers find their token: the variable, else the file it names, else the
file hodeid wrote in its data directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from hodei_api.client import Token, find_join_token, find_token, resolve_join_token, resolve_token


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    (tmp_path / "admin.token").write_text("from-data-dir\n")
    (tmp_path / "join.token").write_text("join-from-data-dir\n")
    (tmp_path / "given").write_text("  from-file \n")
    return tmp_path


def test_the_variable_comes_first(data_dir: Path) -> None:
    environ = {"HODEI_TOKEN": " t ", "HODEI_TOKEN_FILE": str(data_dir / "given")}
    assert resolve_token(environ, data_dir) == "t"
    assert resolve_join_token({"HODEI_JOIN_TOKEN": "j"}, data_dir) == "j"


def test_then_the_file_it_names(data_dir: Path) -> None:
    assert resolve_token({"HODEI_TOKEN_FILE": str(data_dir / "given")}, data_dir) == "from-file"
    assert resolve_join_token({"HODEI_JOIN_TOKEN_FILE": str(data_dir / "given")}, data_dir) == "from-file"


def test_then_the_daemons_own_files(data_dir: Path) -> None:
    assert resolve_token({}, data_dir) == "from-data-dir"
    assert resolve_join_token({"HODEI_TOKEN": "not-for-workers"}, data_dir) == "join-from-data-dir"


def test_none_without_any(tmp_path: Path) -> None:
    assert resolve_token({}, tmp_path) is None
    assert resolve_join_token({}, tmp_path / "missing") is None


def test_a_named_file_that_cannot_be_read_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        resolve_token({"HODEI_TOKEN_FILE": str(tmp_path / "nope")}, tmp_path)


def test_each_token_says_where_it_came_from(data_dir: Path) -> None:
    given = data_dir / "given"
    assert find_token({"HODEI_TOKEN": "t"}, data_dir) == Token("t", "HODEI_TOKEN")
    assert find_token({"HODEI_TOKEN_FILE": str(given)}, data_dir) == Token(
        "from-file", f"HODEI_TOKEN_FILE ({given})"
    )
    assert find_token({}, data_dir) == Token("from-data-dir", str(data_dir / "admin.token"))
    assert find_join_token({}, data_dir) == Token("join-from-data-dir", str(data_dir / "join.token"))
    missing = data_dir / "missing"
    assert find_token({}, missing) == Token(
        None, f"no HODEI_TOKEN, no HODEI_TOKEN_FILE, and {missing / 'admin.token'} not found"
    )
