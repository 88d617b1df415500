"""What a worker started by the local provider writes, logged as the daemon's own records.

Its output would otherwise land raw in the daemon's stderr: plain ``hodei-worker: …`` text in
the middle of ``--log-format json`` lines. Relayed here, each line becomes one record of the
``hodei-worker`` logger with the worker's id (a ``worker_id`` field in JSON, a prefix in text),
escaped by the daemon's formatter like any other record.
"""

from __future__ import annotations

import asyncio
import logging

log = logging.getLogger("hodei-worker")

PREFIX = "hodei-worker: "
"""How the worker starts each of its log records."""


async def relay(output: asyncio.StreamReader, worker_id: str) -> None:
    """Log every line of ``output`` until it ends. The worker's own records are INFO; any
    other line (an interpreter's traceback, a library writing to stderr) is unexpected
    from it, so WARNING."""
    context = {"worker_id": worker_id}
    while True:
        try:
            line = await output.readline()
        except ValueError:
            # Longer than the reader's limit: the reader dropped it, say so instead.
            log.warning("%s: a line too long to relay was left out", worker_id, extra=context)
            continue
        if not line:
            return
        text = line.decode(errors="replace").rstrip("\r\n")
        if text.startswith(PREFIX):
            log.info("%s: %s", worker_id, text.removeprefix(PREFIX), extra=context)
        elif text:
            log.warning("%s: %s", worker_id, text, extra=context)
