"""``hodeid``: wiring and the command."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from hodei_api.client import AddressError, parse_addr
from hodeid.api.server import build_server
from hodeid.config import Settings
from hodeid.control.daemon import Daemon
from hodeid.errors import HodeiError
from hodeid.store import db, embedded

log = logging.getLogger("hodeid")


def parse_args(argv: list[str] | None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        prog="hodeid",
        description="Hodei daemon: queues jobs, schedules them onto workers, fans out logs.",
    )
    parser.add_argument("--listen", help="HOST:PORT to serve gRPC on (default 127.0.0.1:50051)")
    parser.add_argument(
        "--database-url", help="PostgreSQL URL (default: embedded PostgreSQL in the data dir)"
    )
    parser.add_argument("--data-dir", type=Path, help="directory for the embedded database")
    parser.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    args = vars(parser.parse_args(argv))
    return {k: v for k, v in args.items() if v is not None}


async def serve(settings: Settings) -> int:
    host, port = parse_addr(settings.listen)
    if settings.database_url:
        url = settings.database_url
        log.info("using PostgreSQL at %s", db.redact(url))
    else:
        pgdata = settings.data_dir / "pg"
        url, _ = await asyncio.to_thread(embedded.start, pgdata)
        log.info("embedded PostgreSQL in %s (set --database-url to use a server)", pgdata)
    pool = await db.connect(url)
    try:
        await db.migrate(pool)
        daemon = Daemon(pool, settings.scheduler)
        server = build_server(daemon)
        try:
            await server.start(host, port)
        except OSError as exc:
            raise HodeiError(f"cannot listen on {settings.listen}: {exc.strerror}; "
                             "is another hodeid running? choose another --listen") from exc  # fmt: skip
        daemon.start()
        log.info("hodeid %s listening on %s:%d", daemon.id[:8], host, port)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        log.info("stopping: workers keep running their jobs and reconnect to the next daemon")
        server.close()
        await daemon.stop()
        await server.wait_closed()
    finally:
        await pool.close()
    return 0


def main(argv: list[str] | None = None) -> None:
    try:
        settings = Settings(**parse_args(argv))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        sys.stderr.write(f"hodeid: setting {where}: {first['msg']}\n")
        sys.exit(2)
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        sys.exit(asyncio.run(serve(settings)))
    except (HodeiError, AddressError) as exc:
        sys.stderr.write(f"hodeid: {exc}\n")
        sys.exit(1)
