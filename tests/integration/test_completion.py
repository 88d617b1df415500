"""``hodei completion SHELL`` names every command and flag the parser has, and bash loads it."""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from hodei_tui.cli.parser import build_parser
from hodei_tui.errors import UsageError
from hodei_tui.main import main

HODEI = str(Path(sys.executable).parent / "hodei")


def _words(parser: argparse.ArgumentParser) -> Iterator[str]:
    """Every subcommand name and option string in the tree under ``parser``."""
    for action in parser._actions:
        yield from action.option_strings
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield name
                yield from _words(sub)


def _script(shell: str) -> str:
    done = subprocess.run([HODEI, "completion", shell], capture_output=True, text=True, check=False)
    assert (done.returncode, done.stderr) == (0, "")
    return done.stdout


def _as_fish(word: str) -> str:
    # fish's complete names long flags with -l and short ones with -s, without their dashes.
    if word.startswith("--"):
        return f"-l {word[2:]}"
    return f"-s {word[1:]}" if word.startswith("-") else word


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_the_script_names_every_command_and_flag(shell: str) -> None:
    script = _script(shell)
    words = set(_words(build_parser()))
    assert {"run", "logs", "drain", "provider", "daemon", "completion", "--idempotency-key"} <= words
    assert "--after" in words
    if shell == "fish":
        words = {_as_fish(word) for word in words}
    assert [word for word in sorted(words) if word not in script] == []


def test_bash_loads_it() -> None:
    done = subprocess.run(
        ["bash", "-c", f"source <({HODEI} completion bash) && complete -p hodei"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("complete ")


def test_an_unknown_shell_is_refused_with_the_choices() -> None:
    with pytest.raises(UsageError, match="choose from 'bash', 'zsh', 'fish'"):
        build_parser().parse_args(["completion", "tcsh"])
    assert main(["completion"]) == 125
