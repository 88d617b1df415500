"""Keys typed while a form opens. The keys that open a form are priority bindings, so the
form is on the stack before the next key is routed; until it is mounted it has no focused
field, so those keys come to the screen itself, which hands them on with ``type_ahead``."""

from __future__ import annotations

from typing import Any

from textual.events import Key
from textual.screen import Screen
from textual.widgets import Input


def type_ahead(screen: Screen[Any], event: Key) -> None:
    """Type a printable key that reached ``screen`` into its focused ``Input``."""
    if event.is_printable and event.character and isinstance(screen.focused, Input):
        screen.focused.insert_text_at_cursor(event.character)
        event.stop()
