"""The log pane: a window onto a ``LogStore``. Only the rows on screen are ever turned into
text (Textual's line API), so a million-line log scrolls as fast as a ten-line one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from hodei_api.loglines import Line
from hodei_api.printable import printable
from hodei_tui.console.logstore import STDERR, SYSTEM, LogStore, Streams

STREAM_CYCLE = [Streams.BOTH, Streams.STDOUT, Streams.STDERR]
STDERR_STYLE = Style(color="#ff8f8f")
SYSTEM_STYLE = Style(color="#8fb8ff", italic=True)
MATCH_STYLE = Style(reverse=True)
CURRENT_STYLE = Style(bgcolor="#5f5f00")
STAMP_STYLE = Style(dim=True)


class LogView(ScrollView, can_focus=True):
    """A job's log: follows the end until scrolled up, searchable, filterable by stream."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("end", "follow", "Follow"),
        Binding("home", "top", "Top", show=False),
        Binding("slash", "search", "Search"),
        Binding("n", "next_match", "Next", show=False),
        Binding("N", "previous_match", "Prev", show=False),
        # In the help overlay and the palette; the footer keeps to what fits in 100 columns.
        Binding("T", "toggle_timestamps", "Times", show=False),
        Binding("w", "toggle_wrap", "Wrap", show=False),
        Binding("o", "cycle_streams", "Out/err", show=False),
    ]

    DEFAULT_CSS = """
    LogView { background: $surface; }
    """

    follow: reactive[bool] = reactive(True)
    timestamps: reactive[bool] = reactive(False)
    wrap: reactive[bool] = reactive(False)
    streams: reactive[Streams] = reactive(Streams.BOTH)

    @dataclass
    class SearchRequested(Message):
        """The user asked to search the log (the screen opens the search box)."""

        log: LogView

    @dataclass
    class StatusChanged(Message):
        """Follow state, new-line count, toggles or search changed: the title shows them."""

        log: LogView

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.store = LogStore()
        self.unseen = 0
        self.empty_hint = "no job selected"
        self.needle = ""
        self.match: int | None = None  # store position of the current match
        self._widest = 0
        self._scrolling = False  # set while the widget itself scrolls (not the user)
        self._rows: tuple[tuple[int, int, int, bool], list[Strip]] | None = None

    # What the pane shows.

    @property
    def _view(self) -> Sequence[int]:
        """Store positions of the lines shown, in order (a range when all are)."""
        return self.store.view(self.streams)

    def reset(self) -> None:
        """Forget every line (another job was selected)."""
        self.store = LogStore()
        self.unseen = 0
        self.match = None
        self._widest = 0
        self.follow = True
        self._resized()

    def append(self, lines: Sequence[Line]) -> None:
        """Add lines as they arrive; follow the end, or count them as unseen."""
        before = len(self._view)
        if not self.store.extend(lines):
            return
        self._widest = max(self._widest, max(len(line.data) for line in lines))
        self._grown(len(self._view) - before)

    def note(self, text: str) -> None:
        """A line of the console's own (the job ended; the stream was resumed)."""
        before = len(self._view)
        self.store.add_system(text, int(datetime.now(UTC).timestamp() * 1_000_000))
        self._widest = max(self._widest, len(text))
        self._grown(len(self._view) - before)

    def _grown(self, added: int) -> None:
        if not self.follow:
            self.unseen += added
        self._resized()
        if self.follow:
            self._scroll_to_end()
        self.post_message(self.StatusChanged(self))

    def _resized(self) -> None:
        self._rows = None
        stamp = 13 if self.timestamps else 0
        width = self.scrollable_content_region.width if self.wrap else self._widest + stamp
        self.virtual_size = Size(width, len(self._view))
        self.refresh()

    def _scroll_to_end(self) -> None:
        self._scrolling = True
        try:
            self.scroll_y = self.max_scroll_y
        finally:
            self._scrolling = False

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self._rows = None
        if self._scrolling:
            return
        at_end = round(new_value) >= self.max_scroll_y
        if at_end != self.follow:
            self.follow = at_end
            if at_end:
                self.unseen = 0
            self.post_message(self.StatusChanged(self))

    def watch_timestamps(self) -> None:
        self._resized()
        self.post_message(self.StatusChanged(self))

    def watch_wrap(self) -> None:
        self._resized()
        if self.follow:
            self._scroll_to_end()
        self.post_message(self.StatusChanged(self))

    def watch_streams(self) -> None:
        self._resized()
        if self.follow:
            self._scroll_to_end()
        self.post_message(self.StatusChanged(self))

    def on_resize(self) -> None:
        self._resized()
        if self.follow:
            self._scroll_to_end()

    def status(self) -> str:
        """One line for the pane's title: follow state, toggles, search."""
        parts = [f"{len(self.store):,} lines"]
        if self.follow:
            parts.append("following")
        elif self.unseen:
            parts.append(f"{self.unseen:,} new lines (End to follow)")
        else:
            parts.append("paused (End to follow)")
        if self.streams is not Streams.BOTH:
            parts.append(f"{self.streams.value} only")
        if self.wrap:
            parts.append("wrap")
        if self.needle:
            where = "no match" if self.match is None else f"line {self.match + 1:,}"
            parts.append(f"/{self.needle}: {where}")
        return " · ".join(parts)

    # Actions.

    def action_follow(self) -> None:
        self.follow = True
        self.unseen = 0
        self._scroll_to_end()
        self.post_message(self.StatusChanged(self))

    def action_top(self) -> None:
        self.scroll_y = 0

    def action_toggle_timestamps(self) -> None:
        self.timestamps = not self.timestamps

    def action_toggle_wrap(self) -> None:
        self.wrap = not self.wrap

    def action_cycle_streams(self) -> None:
        self.streams = STREAM_CYCLE[(STREAM_CYCLE.index(self.streams) + 1) % len(STREAM_CYCLE)]

    def action_search(self) -> None:
        self.post_message(self.SearchRequested(self))

    def search(self, needle: str) -> None:
        """Look for ``needle`` from the top of the window down."""
        self.needle = needle
        self.match = None
        top = self._view[int(self.scroll_y)] if len(self._view) > int(self.scroll_y) else 0
        self._find(top, backwards=False)

    def action_next_match(self) -> None:
        if self.needle:
            self._find(0 if self.match is None else self.match + 1, backwards=False)

    def action_previous_match(self) -> None:
        if self.needle:
            self._find(len(self.store) if self.match is None else self.match, backwards=True)

    def _find(self, start: int, backwards: bool) -> None:
        """Go to the next (or previous) shown line holding the needle, wrapping around once."""
        found = self._shown_match(start, backwards)
        if found is None:
            found = self._shown_match(len(self.store) if backwards else 0, backwards)
            if found is not None:
                self.notify(
                    printable(f"/{self.needle}: wrapped to the {'end' if backwards else 'top'}"),
                    timeout=2,
                    markup=False,
                )
        if found is None:
            self.notify(printable(f"/{self.needle}: not in this log"), timeout=3, markup=False)
        else:
            self.match = found
            self.follow = False
            self._scrolling = True
            try:
                row = self._row_of(found) or 0
                self.scroll_y = max(0, min(self.max_scroll_y, row - self.size.height // 2))
            finally:
                self._scrolling = False
        self._rows = None
        self.refresh()
        self.post_message(self.StatusChanged(self))

    def _shown_match(self, start: int, backwards: bool) -> int | None:
        at = start
        while (found := self.store.find(self.needle, at, backwards)) is not None:
            if self._row_of(found) is not None:
                return found
            at = found if backwards else found + 1  # a line the stream filter hides
        return None

    def _row_of(self, position: int) -> int | None:
        view = self._view
        if isinstance(view, range):
            return position
        low, high = 0, len(view)
        while low < high:
            mid = (low + high) // 2
            if view[mid] < position:
                low = mid + 1
            else:
                high = mid
        return low if low < len(view) and view[low] == position else None

    # Rendering: only the rows on screen.

    def _text(self, position: int) -> Text:
        store = self.store
        stream = store.streams[position]
        style = STDERR_STYLE if stream == STDERR else SYSTEM_STYLE if stream == SYSTEM else Style()
        # The job's output is data here: escapes for control characters, never markup.
        text = Text(printable(store.text(position)), style=style, no_wrap=not self.wrap, end="")
        if self.needle:
            text.highlight_words([self.needle], MATCH_STYLE, case_sensitive=not self.needle.islower())
        if position == self.match:
            text.stylize(CURRENT_STYLE)
        if self.timestamps:
            when = datetime.fromtimestamp(store.ts_micros[position] / 1e6, UTC).astimezone()
            text = Text.assemble((when.strftime("%H:%M:%S.%f")[:12] + " ", STAMP_STYLE), text, end="")
        return text

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        if not self.store.seqs and y == 0:
            hint = Text(self.empty_hint, style=STAMP_STYLE, end="")
            return Strip(list(hint.render(self.app.console))).extend_cell_length(width, self.rich_style)
        rows = self._window(width)
        if y >= len(rows):
            return Strip.blank(width, self.rich_style)
        strip = rows[y]
        if not self.wrap:
            strip = strip.crop(int(self.scroll_x), int(self.scroll_x) + width)
        return strip.extend_cell_length(width, self.rich_style).apply_style(self.rich_style)

    def _window(self, width: int) -> list[Strip]:
        """The strips on screen, built once per frame."""
        height = self.scrollable_content_region.height
        top = int(self.scroll_y)
        key = (top, width, height, self.wrap)
        if self._rows is not None and self._rows[0] == key:
            return self._rows[1]
        console = self.app.console
        strips: list[Strip] = []
        view = self._view
        if not self.wrap:
            for row in range(top, min(top + height, len(view))):
                strips.append(Strip(list(self._text(view[row]).render(console)) or [Segment("")]))
            self._widen_to(max((strip.cell_length for strip in strips), default=0))
        elif top >= self.max_scroll_y and len(view) > 0:
            # At the end: the last lines, wrapped, fill the pane from the bottom up.
            row = len(view) - 1
            while row >= 0 and len(strips) < height:
                strips[:0] = self._wrapped(view[row], width)
                row -= 1
            strips = strips[-height:]
        else:
            row = top
            while row < len(view) and len(strips) < height:
                strips.extend(self._wrapped(view[row], width))
                row += 1
            strips = strips[:height]
        self._rows = (key, strips)
        return strips

    def _widen_to(self, cells: int) -> None:
        """Let the pane scroll as wide as the rows drawn. The width is first guessed from the
        lines' byte counts; a control character shown as an escape takes more cells than
        bytes, and only the rows on screen are measured, once drawn."""
        stamp = 13 if self.timestamps else 0
        if cells > self._widest + stamp:
            self._widest = cells - stamp
            self.call_after_refresh(self._resized)

    def _wrapped(self, position: int, width: int) -> list[Strip]:
        console = self.app.console
        lines = self._text(position).wrap(console, max(1, width))
        return [Strip(list(line.render(console)) or [Segment("")]) for line in lines] or [Strip([])]
