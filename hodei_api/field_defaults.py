"""Field defaults looked up once per message class, not each time a field is written.

betterproto2 (0.10) compares every set field with its default before writing it, and makes
that default anew each time under ``warnings.catch_warnings`` (for deprecated fields): half of
the time of writing a message (a SubmitJob answer took 160 us, a RunJob 100 us). A default
that is a number, an enum member, a string, bytes or None cannot change, so it is kept per
message class and field after its first lookup; a list, map or message default is still made
anew, since the caller may change it. ``hodei_api.gen`` (scripts/proto.sh writes its
``__init__``) calls ``keep_field_defaults`` before any generated message is defined.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import betterproto2

IMMUTABLE = (int, float, str, bytes, type(None))  # bool and betterproto2 enums are ints

Lookup = Callable[[betterproto2.Message, str], Any]


def keep_field_defaults() -> None:
    """Make ``betterproto2.Message._get_field_default`` keep immutable defaults (once)."""
    looked_up: Lookup = betterproto2.Message._get_field_default
    if getattr(looked_up, "keeps_defaults", False):
        return
    kept: dict[tuple[type, str], Any] = {}

    def field_default(message: betterproto2.Message, field_name: str) -> Any:
        key = (type(message), field_name)
        try:
            return kept[key]
        except KeyError:
            value = looked_up(message, field_name)
            if isinstance(value, IMMUTABLE):
                kept[key] = value
            return value

    field_default.keeps_defaults = True  # type: ignore[attr-defined]
    betterproto2.Message._get_field_default = field_default  # type: ignore[method-assign,assignment]
