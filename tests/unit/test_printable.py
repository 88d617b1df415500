"""Strings from the daemon made safe to show: controls, bidi and line breaks become escapes."""

from __future__ import annotations

import json

import pytest

from hodei_api.printable import json_printable, printable


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("build-42", "build-42"),
        ("", ""),
        ("café ☕ 数据", "café ☕ 数据"),
        ("[bold red]x[/]", "[bold red]x[/]"),  # markup is the console's concern: Text, not this
        ("a\nb", "a\\nb"),
        ("a\r\nb", "a\\r\\nb"),
        ("col\tumn", "col\\tumn"),
        ("\x1b[2Jcleared", "\\x1b[2Jcleared"),
        ("\x1b]0;owned\x07", "\\x1b]0;owned\\x07"),  # OSC window title, ended by BEL
        ("\x00nul", "\\x00nul"),
        ("del\x7f", "del\\x7f"),
        ("\x9b2J", "\\x9b2J"),  # C1 CSI
        ("\x85next", "\\x85next"),  # C1 NEL
        ("abc\u202eevil.sh", "abc\\u202eevil.sh"),  # right-to-left override
        ("\u2066iso\u2069", "\\u2066iso\\u2069"),
        ("\u200fmark\u061c", "\\u200fmark\\u061c"),
        ("line\u2028sep\u2029", "line\\u2028sep\\u2029"),
        ("C:\\temp", "C:\\temp"),  # a backslash stays: nothing to escape in it
        ("\u200d", "\u200d"),  # zero-width joiner: part of emoji, harmless
    ],
)
def test_printable_makes_every_control_visible(text: str, shown: str) -> None:
    assert printable(text) == shown


@pytest.mark.parametrize("code", [*range(0x20), *range(0x7F, 0xA0), 0x202E, 0x2028])
def test_no_control_survives_and_escaping_again_changes_nothing(code: int) -> None:
    shown = printable(f"a{chr(code)}b")
    assert shown.isprintable() and shown.isascii()
    assert printable(shown) == shown


@pytest.mark.parametrize("value", ["a\x7fb", "\x9b2J", "x\u202ey", "\u2028", "plain", "é\n\x1b"])
def test_json_printable_keeps_the_value_and_leaves_nothing_raw(value: str) -> None:
    encoded = json_printable(json.dumps({"name": value, "list": [value]}, indent=2, ensure_ascii=False))
    assert json.loads(encoded) == {"name": value, "list": [value]}
    assert all(ch == "\n" or ch.isprintable() for ch in encoded)
