"""The submit form: every field ``hodei job run`` takes that a person types, each checked as
typed and again by the daemon, with the messages beside the fields."""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.events import Key
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label

from hodei_api import v1
from hodei_tui.console.form_spec import FIELDS, build_spec
from hodei_tui.console.format import plain
from hodei_tui.console.protocol import ConsoleClient
from hodei_tui.console.screens.typed_ahead import type_ahead
from hodei_tui.errors import HodeiError

HINTS = {
    "command": ("Command", "words as a shell splits them: sh -c 'make test'"),
    "name": ("Name", "optional: a name to recognise the job by"),
    "env": ("Env", "K=V K2=V2"),
    "selector": ("Selector", "gpu=true, zone in (a,b)"),
    "cpu": ("CPU", "CPUs needed, e.g. 0.5"),
    "memory": ("Memory MB", "e.g. 512"),
    "priority": ("Priority", "higher runs first (default 0)"),
    "timeout": ("Timeout s", "kill after this many seconds (0: none)"),
    "retries": ("Retries", "retry a failed job this many times"),
    "cwd": ("Cwd", "directory to run in on the worker"),
    "kill_grace": ("Kill grace s", "SIGTERM, then SIGKILL after this long (default 10)"),
    "retry_backoff": ("Backoff s", "first retry after ~this long, doubling (default 0)"),
    "idempotency_key": ("Idem. key", "submit once: a repeat returns the first job"),
    "after": ("After", "job ids that must succeed first (ids or prefixes)"),
    "after_any": ("After any", "job ids that must have ended first"),
}
CHECKED_AS_TYPED = frozenset({"selector"})


class SubmitScreen(ModalScreen[v1.Job | None]):
    """Dismissed with the submitted job, or None."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "submit", "Submit"),
        # Priority: the app moves the focus as the key arrives. Otherwise a Tab goes to the
        # field first and travels up to the screen one message at a time, while the keys
        # typed behind it (a paste, fast typing) are already queued at the field they leave.
        Binding("tab", "app.focus_next", show=False, priority=True),
        Binding("shift+tab", "app.focus_previous", show=False, priority=True),
    ]

    def __init__(self, client: ConsoleClient, values: dict[str, str] | None = None) -> None:
        super().__init__()
        self.client = client
        self.initial = values or {}

    def compose(self) -> ComposeResult:
        # One scroll for the whole form: on a short terminal (80x24) the fields scroll and the
        # buttons below them stay in reach (tab scrolls each into view).
        with VerticalScroll(id="submit", can_focus=False):
            yield Label("Submit a job", id="submit-title")
            for field in FIELDS:
                label, placeholder = HINTS[field]
                with Horizontal(classes="field"):
                    yield Label(label, classes="field-label")
                    yield Input(self.initial.get(field, ""), placeholder=placeholder, id=f"field-{field}")
                yield Label("", id=f"error-{field}", classes="field-error")
            yield Label("", id="submit-error", classes="field-error")
            with Horizontal(id="submit-buttons"):
                yield Button("Submit (ctrl+s)", variant="primary", id="submit-ok")
                yield Button("Cancel (esc)", id="submit-cancel")

    def on_key(self, event: Key) -> None:
        type_ahead(self, event)

    def _fields(self) -> dict[str, str]:
        return {f: self.query_one(f"#field-{f}", Input).value for f in FIELDS}

    def show_errors(self, errors: dict[str, str], general: str = "") -> None:
        """The messages beside their fields; they quote what was typed and what the daemon
        said, so they are shown as data, not markup."""
        for field in FIELDS:
            message = errors.get(field, "")
            label = self.query_one(f"#error-{field}", Label)
            label.update(plain(message))
            label.display = bool(message)
        general_label = self.query_one("#submit-error", Label)
        general_label.update(plain(general))
        general_label.display = bool(general)

    def on_mount(self) -> None:
        self.show_errors({})
        self.query_one("#field-command", Input).focus()

    @on(Input.Changed)
    def _recheck(self, event: Input.Changed) -> None:
        # The selector is checked as typed (its grammar is strict, and a mistake there would
        # only show once submitted); another field is re-checked once flagged, as it is fixed.
        field = (event.input.id or "").removeprefix("field-")
        if field in CHECKED_AS_TYPED or self._flagged(field):
            _, errors = build_spec(self._fields())
            self.show_errors({k: v for k, v in errors.items() if k == field or self._flagged(k)})

    def _flagged(self, field: str) -> bool:
        return bool(self.query_one(f"#error-{field}", Label).display)

    @on(Input.Submitted)
    @on(Button.Pressed, "#submit-ok")
    def action_submit(self) -> None:
        spec, errors = build_spec(self._fields())
        self.show_errors(errors)
        if spec is not None:
            self._send(spec)

    @on(Button.Pressed, "#submit-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

    @work(exclusive=True, group="submit")
    async def _send(self, spec: v1.JobSpec) -> None:
        try:
            job = (await self.client.submit_job(spec)).job
        except HodeiError as exc:
            self.show_errors({}, f"not submitted: {exc}")
            return
        self.dismiss(job)
