"""Worker health at a glance: stream up or down, the daemon it streams to, heartbeat age, RTT,
slots, reconnects, draining and labels; live."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from rich.text import Text

from hodei_api import v1
from hodei_tui.console.format import plain, seconds, short_id
from hodei_tui.widgets.keyed_table import KeyedTable, cut

UP = Text("● up", style="bold #98c379")
DOWN = Text("✕ down", style="bold #e06c75")


def _heartbeat(worker: v1.WorkerInfo, age: float) -> Text:
    if worker.from_record:
        return Text("-")  # only the daemon holding its stream hears its heartbeats
    # Heartbeats come every few seconds (5 by default); the daemon drops a worker silent for 3.
    style = "#e06c75" if not worker.live else "#e5c07b" if age > 10 else ""
    return Text(seconds(age), style=style)


def _rtt(worker: v1.WorkerInfo) -> Text:
    if not worker.rtt_ms or worker.from_record:
        return Text("-")
    # At most 5 cells: tenths below 10 ms, where they matter.
    return Text(f"{worker.rtt_ms:.1f}ms" if worker.rtt_ms < 9.95 else f"{worker.rtt_ms:.0f}ms")


def _drain(worker: v1.WorkerInfo) -> Text:
    if worker.from_record:
        return Text("-")  # only the daemon holding its stream knows
    return Text("yes", style="#e5c07b") if worker.draining else Text("no")


class WorkersPanel(KeyedTable):
    """One row per worker, live ones first. Heartbeat ages keep counting between events."""

    STRETCH = ("id", "labels")

    def __init__(self, clock: Callable[[], datetime], *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row")
        self.clock = clock
        self.infos: dict[str, v1.WorkerInfo] = {}
        self.received: dict[str, datetime] = {}

    def on_mount(self) -> None:
        for label, key, width in (
            ("WORKER", "id", 14), ("STREAM", "stream", 6), ("DAEMON", "daemon", 8), ("HB", "hb", 5),
            ("RTT", "rtt", 5),
            ("SLOTS", "slots", 5), ("RECON", "recon", 5), ("DRAIN", "drain", 5), ("LABELS", "labels", 12),
        ):  # fmt: skip
            self.add_column(label, key=key, width=width)

    def replace(self, workers: list[v1.WorkerInfo]) -> None:
        self.infos = {w.id: w for w in workers}
        self.received = {w.id: self.clock() for w in workers}
        self._rebuild()

    def upsert(self, worker: v1.WorkerInfo) -> None:
        old = self.infos.get(worker.id)
        self.infos[worker.id] = worker
        self.received[worker.id] = self.clock()
        if old is not None and old.live == worker.live and worker.id in self.rows:
            for key, value in self._cells(worker).items():
                self.update_cell(worker.id, key, value)
            self.fit_columns()
        else:
            self._rebuild()

    def refresh_ages(self) -> None:
        for key in self.rows:
            worker = self.infos[key.value or ""]
            self.update_cell(key, "hb", _heartbeat(worker, self._age(worker)))

    def _age(self, worker: v1.WorkerInfo) -> float:
        since = (self.clock() - self.received[worker.id]).total_seconds()
        return worker.heartbeat_age_seconds + max(0.0, since)

    def _cells(self, worker: v1.WorkerInfo) -> dict[str, Text]:
        labels = ",".join(f"{k}={v}" for k, v in sorted(worker.labels.items())) or "-"
        return {
            "id": cut(plain(worker.id)),
            "stream": UP if worker.live else DOWN,
            "daemon": plain(short_id(worker.daemon_id) or "-"),
            "hb": _heartbeat(worker, self._age(worker)),
            "rtt": _rtt(worker),
            "slots": Text(f"{worker.slots_used}/{worker.slots_total}"),
            "recon": Text(str(worker.reconnects)),
            "drain": _drain(worker),
            "labels": cut(plain(labels)),
        }

    def _rebuild(self) -> None:
        selected = self.selected_id
        self.clear()
        for worker in sorted(self.infos.values(), key=lambda w: (not w.live, w.id)):
            self.add_row(*self._cells(worker).values(), key=worker.id)
        if selected is not None and selected in self.rows:
            self.move_cursor(row=self.get_row_index(selected))
        self.fit_columns()
        live = sum(w.live for w in self.infos.values())
        self.border_subtitle = f"{live} up · {len(self.infos) - live} down"
