"""``hodei completion SHELL``: a completion script generated from the parser itself, so every
command and flag is in it without a hand-kept list."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

SHELLS = ("bash", "zsh", "fish")


class PrintScript(argparse.Action):
    """Print the completion script of ``root`` for the shell given and exit 0, as ``--version``
    does: it needs no daemon and no token."""

    def __init__(self, *args: Any, root: argparse.ArgumentParser, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.root = root

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        # Imported here: only this command needs it, and every other one starts faster without.
        import shtab

        sys.stdout.write(shtab.complete(self.root, shell=str(values)))
        parser.exit(0)
