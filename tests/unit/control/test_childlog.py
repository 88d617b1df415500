"""A local worker's output relayed as the daemon's own records: one per line, the worker's id
as a field and a prefix, its own records INFO and anything else WARNING, escaped in text."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from hodei_api.printable import PrintableFormatter
from hodeid.control.providers.childlog import relay
from hodeid.logformat import HUMAN_FORMAT, JsonFormatter


async def relayed(
    caplog: pytest.LogCaptureFixture, data: bytes, limit: int = 2**16
) -> list[logging.LogRecord]:
    caplog.set_level(logging.INFO, "hodei-worker")
    output = asyncio.StreamReader(limit=limit)
    output.feed_data(data)
    output.feed_eof()
    await relay(output, "local-1")
    return [r for r in caplog.records if r.name == "hodei-worker"]


async def test_each_line_is_a_record_with_the_worker_id(caplog: pytest.LogCaptureFixture) -> None:
    records = await relayed(
        caplog, b"hodei-worker: connected\nTraceback (most recent call last):\n\nhodei-worker: bye"
    )
    assert [(r.levelname, r.getMessage()) for r in records] == [
        ("INFO", "local-1: connected"),
        ("WARNING", "local-1: Traceback (most recent call last):"),
        ("INFO", "local-1: bye"),
    ]
    assert {getattr(r, "worker_id", None) for r in records} == {"local-1"}


async def test_a_line_is_escaped_in_text_and_a_field_in_json(caplog: pytest.LogCaptureFixture) -> None:
    (record,) = await relayed(caplog, b"hodei-worker: job \x1b[31mred\x1b[0m\r\n")
    text = PrintableFormatter(HUMAN_FORMAT).format(record)
    assert text.endswith(" INFO    hodei-worker: local-1: job \\x1b[31mred\\x1b[0m")
    line = json.loads(JsonFormatter().format(record))
    assert (line["logger"], line["worker_id"], line["message"]) == (
        "hodei-worker", "local-1", "local-1: job \x1b[31mred\x1b[0m"
    )  # fmt: skip


async def test_a_line_over_the_limit_is_left_out_and_said(caplog: pytest.LogCaptureFixture) -> None:
    records = await relayed(caplog, b"x" * 100 + b"\nhodei-worker: after\n", limit=32)
    assert [(r.levelname, r.getMessage()) for r in records] == [
        ("WARNING", "local-1: a line too long to relay was left out"),
        ("INFO", "local-1: after"),
    ]
