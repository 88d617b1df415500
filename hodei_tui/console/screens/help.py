"""The ``?`` overlay: every key, by where it works."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS: list[tuple[str, list[tuple[str, str]]]] = [
    (
        "Anywhere",
        [
            ("a", "submit a job (form)"),
            ("c", "cancel the selected job (asks first)"),
            ("r", "retry the selected job (a finished one)"),
            ("d", "drain the selected worker"),
            ("g", "go to a job by id (or its first characters)"),
            ("f", "filter jobs by text"),
            ("s", "cycle the jobs' state filter"),
            ("tab / shift+tab", "next / previous pane"),
            ("1 2 3 4 5", "jobs, workers, trace, log, schedules pane"),
            ("ctrl+p", "command palette: every action by name"),
            ("?", "this help"),
            ("q", "quit"),
        ],
    ),
    (
        "Log pane",
        [
            ("end", "follow the end again (scrolling up pauses)"),
            ("home", "go to the first line"),
            ("/", "search; n / N next / previous match"),
            ("T", "timestamps on/off"),
            ("w", "wrap long lines on/off"),
            ("o", "stdout and stderr, stdout only, stderr only"),
        ],
    ),
    (
        "Tables and trace",
        [
            ("up / down, pgup / pgdn", "move the cursor (the log and trace follow the selected job)"),
            ("enter / space", "expand or collapse a trace node"),
        ],
    ),
]


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss_help", "Close"),
        Binding("question_mark", "dismiss_help", "Close", show=False),
        Binding("q", "dismiss_help", "Close", show=False),
    ]

    def compose(self) -> ComposeResult:
        lines = ["[b]Hodei console[/b] — keys", ""]
        for title, keys in KEYS:
            lines.append(f"[b $accent]{title}[/]")
            lines.extend(f"  [b]{key:<24}[/b]{what}" for key, what in keys)
            lines.append("")
        lines.append("[dim]escape, ? or q closes this help[/dim]")
        with VerticalScroll(id="help"):
            yield Static("\n".join(lines), id="help-text")

    def action_dismiss_help(self) -> None:
        self.dismiss(None)
