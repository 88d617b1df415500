"""A table whose rows are keyed by id, as the jobs table and the workers panel are."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable


class KeyedTable(DataTable[Text]):
    """Every cell is a ``Text`` (see ``format.plain``): a ``str`` cell would be read as markup."""

    @property
    def selected_id(self) -> str | None:
        """The id of the row under the cursor; None when the table is empty."""
        if not self.row_count:
            return None
        key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return key.value
