"""Strings from the daemon shown as data: every character that could move the cursor, clear
the screen, set a window title, ring the bell, reorder text or start a new line is made
visible as a backslash escape, the way Python's ``repr`` writes it (ESC as ``\\x1b``).

Names, worker ids, labels and messages pass through here before they reach a terminal; job
output written by ``hodei job run`` and ``job logs`` does not (it is the job's bytes, like
``cat``)."""

from __future__ import annotations

import logging
import re
from types import TracebackType
from typing import TypeAlias

ExcInfo: TypeAlias = tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]

# C0 and C1 controls and DEL; the bidi embeddings, overrides, isolates and marks (which can
# make text read in another order than it is stored); the line and paragraph separators.
_BEYOND_C0 = "\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029"
_UNSAFE = re.compile(f"[\x00-\x1f{_BEYOND_C0}]")
# What json.dumps leaves raw; C0 it escapes itself (and its indentation is real newlines).
_JSON_RAW = re.compile(f"[{_BEYOND_C0}]")
_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _SHORT:
        return _SHORT[char]
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` with every control, bidi and line-breaking character written as an escape.

    A backslash is left as it is: a name holding a literal ``\\x1b`` reads the same as one
    holding ESC, but neither can do anything to the terminal. Applying it twice changes
    nothing more.
    """
    return _UNSAFE.sub(_escape, text) if _UNSAFE.search(text) else text


def _json_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def json_printable(encoded: str) -> str:
    """JSON text (from ``json.dumps(..., ensure_ascii=False)``) with the characters JSON
    leaves raw (DEL, C1, bidi, line separators) written as ``\\u`` escapes; it decodes to
    the same value. Those characters occur only inside JSON strings, where an escape is
    always allowed."""
    return _JSON_RAW.sub(_json_escape, encoded)


class PrintableFormatter(logging.Formatter):
    """A text log formatter whose records cannot forge others or control the terminal: the
    message (and every value put in it) is made printable, so it stays on one line, and a
    traceback keeps its lines but each is escaped and indented, so none can pass for a
    record of its own."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = printable(record.message)
        return super().formatMessage(record)

    def formatException(self, ei: ExcInfo) -> str:
        return _indented(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:
        return _indented(super().formatStack(stack_info))


def _indented(text: str) -> str:
    return "\n".join(f"  {printable(line)}" for line in text.splitlines())
