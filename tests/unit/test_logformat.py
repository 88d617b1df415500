"""hodeid's log lines: JSON objects with context fields, or a line for people."""

from __future__ import annotations

import json
import logging
import sys

import pytest

from hodeid.logformat import JsonFormatter, LogFormat, configure


def record(msg: str, *args: object, **extra: object) -> logging.LogRecord:
    rec = logging.LogRecord("hodeid.control.settle", logging.INFO, __file__, 1, msg, args, None)
    rec.__dict__.update(extra)
    return rec


def test_a_json_line_has_the_fixed_fields_and_the_context_it_was_given() -> None:
    line = JsonFormatter().format(record("job %s -> %s", "j1", "SUCCEEDED", job_id="j1", attempt=2))
    data = json.loads(line)
    assert data.pop("ts").endswith("+00:00")
    assert data == {
        "level": "INFO",
        "logger": "hodeid.control.settle",
        "message": "job j1 -> SUCCEEDED",
        "job_id": "j1",
        "attempt": 2,
    }


def test_a_json_line_without_context_has_no_empty_fields() -> None:
    assert set(json.loads(JsonFormatter().format(record("hello")))) == {"ts", "level", "logger", "message"}


def test_a_json_line_carries_the_traceback_and_stays_one_line() -> None:
    try:
        raise ValueError("bad\nthing")
    except ValueError:
        rec = record("failed", worker_id="w1")
        rec.exc_info = sys.exc_info()
    line = JsonFormatter().format(rec)
    assert "\n" not in line
    data = json.loads(line)
    assert data["worker_id"] == "w1" and "ValueError: bad" in data["exception"]


@pytest.mark.parametrize("kind", list(LogFormat))
def test_configure_writes_the_chosen_format_to_stderr(
    kind: LogFormat, capsys: pytest.CaptureFixture[str]
) -> None:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        configure("INFO", kind)
        logging.getLogger("hodeid.test").info("worker %s connected", "w1", extra={"worker_id": "w1"})
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    err = capsys.readouterr().err.strip()
    if kind is LogFormat.JSON:
        assert json.loads(err)["worker_id"] == "w1"
    else:
        assert err.endswith("INFO    hodeid.test: worker w1 connected")
