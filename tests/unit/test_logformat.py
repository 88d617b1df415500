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


FORGED = "w1\n2026-01-01 00:00:00,000 INFO    hodeid.control.sessions: worker root connected\x1b[2J\x07"


def logged(capsys: pytest.CaptureFixture[str], message: str, *args: object, failure: str = "") -> str:
    """What hodeid's text log writes for one record (with a traceback when ``failure``)."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        configure("INFO", LogFormat.TEXT)
        log = logging.getLogger("hodeid.test")
        if failure:
            try:
                raise ValueError(failure)
            except ValueError:
                log.exception(message, *args)
        else:
            log.info(message, *args)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    return capsys.readouterr().err


def test_a_text_line_escapes_every_value_and_stays_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    err = logged(capsys, "worker %s connected (labels %s)", FORGED, {"k": "\u202e"})
    assert err.count("\n") == 1 and "\x1b" not in err and "\x07" not in err
    assert err.endswith(
        "INFO    hodeid.test: worker w1\\n2026-01-01 00:00:00,000 INFO    "
        "hodeid.control.sessions: worker root connected\\x1b[2J\\x07 connected (labels {'k': '\\u202e'})\n"
    )


def test_a_traceback_keeps_its_lines_but_none_can_pass_for_a_record(
    capsys: pytest.CaptureFixture[str],
) -> None:
    first, *rest = logged(capsys, "job %s failed", "j1", failure=FORGED).splitlines()
    assert first.endswith("ERROR   hodeid.test: job j1 failed")
    assert rest[0] == "  Traceback (most recent call last):"
    assert all(row.startswith("  ") for row in rest)
    assert rest[-2:] == [
        "  ValueError: w1",
        "  2026-01-01 00:00:00,000 INFO    hodeid.control.sessions: worker root connected\\x1b[2J\\x07",
    ]


def test_a_json_line_escapes_what_json_leaves_raw() -> None:
    line = JsonFormatter().format(record("job %s", "\x9b2J\u202e", worker_id=FORGED))
    assert all(ch.isprintable() for ch in line)
    data = json.loads(line)
    assert (data["message"], data["worker_id"]) == ("job \x9b2J\u202e", FORGED)
