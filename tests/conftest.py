"""Fixtures shared by every kind of test: a clean environment and real PostgreSQL databases."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest
from hypothesis import settings

from hodeid.store import db
from tests.support.database import Databases, embedded_server, with_database

# Property tests run 50 examples each, so the unit suite stays fast; `pytest
# --hypothesis-profile=thorough` runs 1,000 each. No deadline: a busy machine must not fail a
# property by timing.
settings.register_profile("quick", max_examples=50, deadline=None)
settings.register_profile("thorough", max_examples=1000, deadline=None)
settings.load_profile("quick")


@pytest.fixture(autouse=True)
def _no_hodei_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's own HODEI_* settings never leak into a test."""
    for key in list(os.environ):
        if key.startswith("HODEI_") and key != "HODEI_TEST_DATABASE_URL":
            monkeypatch.delenv(key)
    monkeypatch.setenv("HODEI_CONFIG", "/nonexistent/hodeid.toml")


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """A PostgreSQL server for the session: HODEI_TEST_DATABASE_URL, else an embedded one."""
    url = os.environ.get("HODEI_TEST_DATABASE_URL")
    if url:
        yield url
    else:
        yield from embedded_server()


@pytest.fixture(scope="session")
def databases(pg_server_url: str) -> Iterator[Databases]:
    dbs = Databases(with_database(pg_server_url, "postgres"))
    yield dbs
    dbs.close()


@pytest.fixture
def database_url(databases: Databases) -> Iterator[str]:
    """A fresh, migrated database for one test, dropped afterwards."""
    name = databases.create()
    yield databases.url(name)
    databases.drop(name)


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    # A started Daemon given no pool to listen on holds four of these (jobs, logs, tokens,
    # cancels); the other two serve its queries.
    pool = await db.connect(database_url, min_size=1, max_size=6)
    yield pool
    await pool.close()
