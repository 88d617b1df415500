"""All migrations applied in order build exactly the schema that schema.sql declares."""

from __future__ import annotations

import asyncpg

from hodeid.store import db
from hodeid.store.queries import SCHEMA
from tests.support.database import Databases

_CATALOG = """
SELECT 'column' AS kind, table_name || '.' || column_name AS name,
       data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '') AS detail
FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> 'schema_migrations'
UNION ALL
SELECT 'index', indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'
  AND tablename <> 'schema_migrations'
UNION ALL
SELECT 'constraint', conrelid::regclass || '.' || conname, pg_get_constraintdef(oid)
FROM pg_constraint WHERE connamespace = 'public'::regnamespace
  AND conrelid <> 'schema_migrations'::regclass
UNION ALL
SELECT 'enum', t.typname, string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder)
FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid GROUP BY t.typname
ORDER BY 1, 2
"""


async def _catalog(url: str) -> list[tuple[str, str, str]]:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY)")
        return [tuple(r) for r in await conn.fetch(_CATALOG)]
    finally:
        await conn.close()


async def test_migrations_build_schema_sql(databases: Databases) -> None:
    migrated, declared = databases.create(), databases.create()
    try:
        conn = await asyncpg.connect(databases.url(declared))
        try:
            await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
            await conn.execute(SCHEMA)
        finally:
            await conn.close()
        assert await _catalog(databases.url(migrated)) == await _catalog(databases.url(declared))
    finally:
        databases.drop(migrated)
        databases.drop(declared)


async def test_migrate_is_idempotent(database_url: str) -> None:
    pool = await db.connect(database_url, min_size=1, max_size=1)
    try:
        assert await db.migrate(pool) == []
        versions = await pool.fetch("SELECT version, name FROM schema_migrations ORDER BY version")
        assert [(r["version"], r["name"]) for r in versions] == [
            (1, "initial"),
            (2, "decisions"),
            (5, "cancel_requests"),
        ]
    finally:
        await pool.close()
