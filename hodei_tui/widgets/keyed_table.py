"""A table whose rows are keyed by id, as the jobs table and the workers panel are, and whose
free-text columns use the width the pane has."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.events import Resize
from textual.widgets import DataTable


def cut(text: Text) -> Text:
    """A cell that ends in ``…`` when its column is narrower than it, rather than stopping
    mid-word as if that were all."""
    text.no_wrap = True
    text.overflow = "ellipsis"
    return text


class KeyedTable(DataTable[Text]):
    """Every cell is a ``Text`` (see ``format.plain``): a ``str`` cell would be read as markup.

    The columns named in ``STRETCH`` (names, labels: text of any length) start at the width
    they were added with, which is their least, and share what the other columns leave of the
    pane, each up to its widest cell; the other columns keep their width."""

    STRETCH: ClassVar[tuple[str, ...]] = ()

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._least: dict[str, int] = {}

    @property
    def selected_id(self) -> str | None:
        """The id of the row under the cursor; None when the table is empty."""
        if not self.row_count:
            return None
        key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return key.value

    def on_resize(self, event: Resize) -> None:
        self.fit_columns()

    def fit_columns(self) -> None:
        """Share the pane's spare width among the stretching columns; call after the rows or
        the size change."""
        stretching = [c for c in self.ordered_columns if c.key.value in self.STRETCH]
        if not stretching:
            return
        for column in stretching:
            self._least.setdefault(column.key.value or "", column.width)
        pad = 2 * self.cell_padding
        others = sum(c.width + pad for c in self.ordered_columns if c not in stretching)
        spare = self.scrollable_content_region.width - others - pad * len(stretching)
        # A column narrower than it was added gives the rest away; none is cut below that.
        wanted = {c.key: max(c.label.cell_len, self._widest(c.key.value or "")) for c in stretching}
        least = {c.key: min(self._least[c.key.value or ""], wanted[c.key]) for c in stretching}
        widths = dict(least)
        spare -= sum(least.values())
        # Water-filling: the smallest wants are met first; the rest share what is left evenly.
        hungry = sorted(stretching, key=lambda c: wanted[c.key] - least[c.key])
        for n, column in enumerate(hungry):
            grow = min(max(0, spare // (len(hungry) - n)), wanted[column.key] - least[column.key])
            widths[column.key] += grow
            spare -= grow
        if all(c.width == widths[c.key] for c in stretching):
            return
        for column in stretching:
            column.width = widths[column.key]
        # What DataTable does itself when a cell changes: its render caches are keyed on
        # _update_count, and its virtual size is recomputed on the next idle.
        self._update_count += 1
        self._require_update_dimensions = True
        self.refresh()

    def _widest(self, key: str) -> int:
        return max((cell.cell_len for cell in self.get_column(key)), default=0)
