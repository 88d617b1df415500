"""Keys typed faster than the console draws land where they were typed: text, Tab and more
text written to a real terminal (tmux) in one go fill two fields of the submit form. Before,
the Tab moved the focus only after the text behind it had gone into the first field (6 times
in 6): a key no widget takes travels up to the screen one message at a time, while the keys
behind it are already queued at the focused field."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.processes import Cluster, cluster
from tests.support.terminal import Tmux

HODEI = str(Path(sys.executable).parent / "hodei")
pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux, a real terminal")


@pytest.fixture
def live(database_url: str, tmp_path: Path) -> Iterator[Cluster]:
    with cluster(database_url, tmp_path) as c:
        yield c


@pytest.fixture
def terminal(live: Cluster, tmp_path: Path) -> Iterator[Tmux]:
    term = Tmux(tmp_path, [HODEI], live.env(), (120, 40))
    try:
        yield term
    finally:
        term.close()


def field(screen: str, label: str) -> str:
    """What the form's field ``label`` shows (its text, or its placeholder)."""
    line = next(line for line in screen.splitlines() if f" {label}  " in line)
    return line.split(f" {label}  ", 1)[1].split("│")[0].strip()


def test_text_tab_text_typed_in_one_go_fills_two_fields(terminal: Tmux) -> None:
    terminal.wait_for(lambda s: "connected to" in s, "the console connected")
    for n in range(4):
        terminal.key("a")
        terminal.wait_for(lambda s: "Submit a job" in s, "the form")
        terminal.type(f"echo {n}\tjob-{n}")
        screen = terminal.wait_for(lambda s, n=n: f"job-{n}" in s, "what was typed")  # type: ignore[misc]
        assert (field(screen, "Command"), field(screen, "Name")) == (f"echo {n}", f"job-{n}")
        terminal.key("Escape")
        terminal.wait_for(lambda s: "Submit a job" not in s, "the form closed")


def test_keys_typed_behind_the_key_that_opens_a_form_go_into_it(terminal: Tmux) -> None:
    # Before, they went to the main screen as it opened the form: its actions, not the form's
    # fields (a q among them quit the console).
    terminal.wait_for(lambda s: "connected to" in s, "the console connected")
    terminal.type("aecho typed-ahead")
    screen = terminal.wait_for(lambda s: "typed-ahead" in s, "what was typed")
    assert field(screen, "Command") == "echo typed-ahead"
    terminal.key("Escape")
    terminal.wait_for(lambda s: "Submit a job" not in s, "the form closed")
    terminal.type("fquick")
    screen = terminal.wait_for(lambda s: "quick" in s, "the filter typed")
    assert "Filter jobs" in screen
