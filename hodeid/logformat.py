"""How hodeid's own log records are written: a line for people on a terminal, or JSON lines
for collectors (``--log-format json``) with job and worker ids as fields of their own.

Records quote names, ids and messages that others chose; in either format a newline or a
control character in them cannot start a forged record or drive the terminal."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from enum import StrEnum

from hodei_api.printable import PrintableFormatter, json_printable

# Fields a record may carry through ``extra=`` that JSON lines keep as fields of their own.
CONTEXT_FIELDS = ("job_id", "attempt", "worker_id")

HUMAN_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"

# The HTTP/2 and gRPC libraries log every header they encode or decode at DEBUG, bearer tokens
# included: they stay at WARNING (or the chosen level, if higher) whatever --log-level says.
QUIET_LOGGERS = ("hpack", "h2", "grpclib")


class LogFormat(StrEnum):
    """``text`` for people, ``json`` for log collectors."""

    TEXT = "text"
    JSON = "json"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``ts`` (UTC, ISO 8601), ``level``, ``logger``, ``message``,
    the context fields the record carries, and ``exception`` with its traceback if any."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            if (value := getattr(record, name, None)) is not None:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json_printable(json.dumps(line, ensure_ascii=False, default=str))


def configure(level: str, kind: LogFormat) -> None:
    """Send every record at ``level`` and above to stderr in the ``kind`` format."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if kind is LogFormat.JSON else PrintableFormatter(HUMAN_FORMAT))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    quiet = max(logging.WARNING, logging.getLevelNamesMapping()[level])
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(quiet)
