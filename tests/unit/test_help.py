"""What ``--version`` and ``--help`` of the three programs tell a new user."""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import version

import pytest

from hodei_tui.cli.parser import build_parser
from hodei_tui.main import main as hodei_main
from hodei_worker.main import main as worker_main
from hodeid.main import parse_args as hodeid_args

VERSION = version("hodei")


def _exits(run: Callable[[], object], capsys: pytest.CaptureFixture[str]) -> tuple[int | str | None, str]:
    with pytest.raises(SystemExit) as exited:
        run()
    return exited.value.code, capsys.readouterr().out


@pytest.mark.parametrize(
    ("program", "run"),
    [
        ("hodei", lambda: hodei_main(["--version"])),
        ("hodeid", lambda: hodeid_args(["--version"])),
        ("hodei-worker", lambda: worker_main(["--version"])),
    ],
)
def test_version_prints_it_and_exits_0(
    program: str, run: Callable[[], object], capsys: pytest.CaptureFixture[str]
) -> None:
    assert _exits(run, capsys) == (0, f"{program} {VERSION}\n")


def test_hodeid_help_shows_the_command_as_optional_and_names_each_variable(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, text = _exits(lambda: hodeid_args(["--help"]), capsys)
    assert code == 0
    assert "usage: hodeid [options] [COMMAND ...]" in text
    assert "--listen HOST:PORT" in text
    assert "LISTEN " not in text.replace("METRICS_LISTEN", "").replace("HODEI_LISTEN", "")
    flat = " ".join(text.split())
    for variable in (
        "HODEI_LISTEN",
        "HODEI_DATABASE_URL",
        "HODEI_DATA_DIR",
        "HODEI_METRICS_LISTEN",
        "HODEI_LOG_LEVEL",
        "HODEI_LOG_FORMAT",
        "HODEI_TLS_CERT",
        "HODEI_TLS_KEY",
        "HODEI_TLS_CLIENT_CA",
        "HODEI_JOIN_TOKEN",
        "HODEI_CONFIG",
        "HODEI_LOCAL_PROVIDER__MAX",
        "HODEI_TOKEN_FILE",
    ):
        assert variable in flat, variable


def _every_hodei_help() -> list[list[str]]:
    commands: list[list[str]] = [[]]
    for group, names in (
        ("job", ("run", "get", "list", "explain", "logs", "cancel", "retry")),
        ("worker", ("list", "drain")),
        ("provider", ("list",)),
        ("daemon", ("list",)),
    ):
        commands.append([group])
        commands.extend([group, name] for name in names)
    return [*commands, ["tui"]]


@pytest.mark.parametrize("command", _every_hodei_help(), ids=" ".join)
def test_every_hodei_help_names_the_token_variables(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, text = _exits(lambda: build_parser().parse_args([*command, "--help"]), capsys)
    assert code == 0
    flat = " ".join(text.split())
    assert "HODEI_TOKEN " in flat
    assert "HODEI_TOKEN_FILE" in flat


def test_hodei_tui_help_says_what_it_is(capsys: pytest.CaptureFixture[str]) -> None:
    _, text = _exits(lambda: build_parser().parse_args(["tui", "--help"]), capsys)
    description = text.split("\n\n")[1]
    assert "console" in description
