"""The README's CLI table names every flag of every ``hodei`` command."""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from hodei_tui.cli.parser import build_parser

README = (Path(__file__).parents[3] / "README.md").read_text()
# Every command has them; the README says so once, below the table.
EVERYWHERE = {"--help", "--addr", "--tls-ca"}


def _commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    subcommands = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subcommands and path:
        yield " ".join(path), parser
    for action in subcommands:
        for name, sub in action.choices.items():
            yield from _commands(sub, (*path, name))


@pytest.mark.parametrize(("command", "parser"), list(_commands(build_parser())), ids=lambda v: str(v)[:20])
def test_the_readme_row_of_each_command_names_each_of_its_flags(
    command: str, parser: argparse.ArgumentParser
) -> None:
    rows = [line for line in README.splitlines() if line.startswith("|") and f"`hodei {command}" in line]
    own = [a for a in parser._actions if a.option_strings and not EVERYWHERE & set(a.option_strings)]
    assert rows or not own, f"no README row for hodei {command}"
    missing = [
        action.option_strings
        for action in own
        if not any(
            re.search(rf"`[^`]*{re.escape(flag)}\b", row) for flag in action.option_strings for row in rows
        )
    ]
    assert missing == []
