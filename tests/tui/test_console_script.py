"""``hodei`` with no command, and ``hodei tui``, open the console in a terminal; q quits."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.support.terminal import console_opens_and_quits

HODEI = str(Path(sys.executable).parent / "hodei")


@pytest.mark.parametrize("argv", [[], ["tui"]])
def test_console_opens_and_quits(argv: list[str]) -> None:
    # Nothing listens on the port: the console opens anyway and says it is disconnected.
    assert console_opens_and_quits([HODEI, *argv]) == 0
