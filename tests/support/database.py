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
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from hodeid.store import db
from hodeid.store.embedded_server import EmbeddedServer

T = TypeVar("T")


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on its own loop in another thread (safe beside pytest-asyncio's loop)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def with_database(url: str, name: str) -> str:
    """``url`` pointing at database ``name`` (the path, or the query for socket URLs)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _embedded(prefix: str) -> tuple[Path, EmbeddedServer]:
    """A new embedded server (hodeid's own manager) in a temporary folder the server's OS
    user may enter (0711: it can list nothing there)."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    root.chmod(0o711)
    server = EmbeddedServer(root / "data")
    server.prepare_data_dir()
    return root, server


def embedded_server() -> Generator[str]:
    """Start an embedded PostgreSQL in a temporary directory; remove it afterwards."""
    root, server = _embedded("hodei-test-pg-")
    try:
        yield server.ensure_running()
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


class EmbeddedPostgres:
    """A PostgreSQL server of our own (hodeid's embedded one, unix socket only) that a test
    may stop and start again, same socket, same data: a database restart under a running
    system, without touching the machine's own server."""

    def __init__(self) -> None:
        self._root, self._server = _embedded("hodei-chaos-pg-")
        self.url = self._server.ensure_running()
        """The server's ``postgres`` database."""

    def stop(self) -> None:
        """Stop the server (fast: open sessions are ended) and wait until it is down."""
        self._server.stop()

    def start(self) -> None:
        """Start it again on the same socket and wait until it accepts connections."""
        assert self._server.ensure_running() == self.url

    def create_database(self) -> str:
        """A new empty database on the server; its URL (hodeid migrates it when it starts)."""
        name = f"hodei_c_{uuid.uuid4().hex[:12]}"
        run_sync(_admin(self.url, f'CREATE DATABASE "{name}"'))
        return with_database(self.url, name)

    def close(self) -> None:
        self._server.stop()
        shutil.rmtree(self._root, ignore_errors=True)


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


async def age_join_tokens(pool: asyncpg.Pool, seconds: float) -> None:
    """Move every provisioning token ``seconds`` into the past, as if the database's clock, by
    which they expire, had moved on that much."""
    await pool.execute(
        "UPDATE join_tokens SET issued_at = issued_at - make_interval(secs => $1), "
        "expires_at = expires_at - make_interval(secs => $1)",
        seconds,
    )
