"""The pulse at a glance: one line of sparklines for queue depth, running jobs, jobs finished
per second and workers up over the last minutes, each with its value now."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label, Sparkline

from hodei_tui.console.pulse import POINTS, Pulse

# The series, their words on screen, and how their value now is written.
SHOWN = (
    ("queue", "queued", "{:.0f}"),
    ("running", "running", "{:.0f}"),
    ("finished", "done/s", "{:.2f}"),
    ("workers", "workers", "{:.0f}"),
)


class PulseStrip(Horizontal):
    def compose(self) -> ComposeResult:
        for name, _, _ in SHOWN:
            with Horizontal(classes="pulse"):
                yield Label("", id=f"pulse-{name}", classes="pulse-value")
                yield Sparkline([], id=f"pulse-{name}-line", summary_function=max)

    def show(self, pulse: Pulse) -> None:
        for name, words, form in SHOWN:
            self.query_one(f"#pulse-{name}", Label).update(f"{words} {form.format(pulse.now(name))}")
            points = pulse.series(name)
            # Drawn over the whole window from the start, the time before the console started
            # at its first value: a sparkline of one point would be drawn as a full bar.
            self.query_one(f"#pulse-{name}-line", Sparkline).data = [points[0]] * (
                POINTS - len(points)
            ) + points
