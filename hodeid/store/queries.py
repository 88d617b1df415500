"""The named queries of ``sql/queries.sql``, parsed once at import."""

from __future__ import annotations

import re
from importlib import resources

_HEADER = re.compile(r"^-- name: (\w+)\s*$", re.MULTILINE)


def _sql_text(name: str) -> str:
    return resources.files("hodeid.store").joinpath("sql", name).read_text()


def parse(text: str) -> dict[str, str]:
    """Split a file of ``-- name: X`` sections into {name: sql}."""
    parts = _HEADER.split(text)
    queries: dict[str, str] = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        if name in queries:
            raise ValueError(f"query {name!r} is defined twice")
        queries[name] = body.strip()
    return queries


Q = parse(_sql_text("queries.sql"))
SCHEMA = _sql_text("schema.sql")


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) of every migration, in order."""
    folder = resources.files("hodeid.store").joinpath("sql", "migrations")
    found = []
    for entry in folder.iterdir():
        match = re.fullmatch(r"(\d{4})_(\w+)\.sql", entry.name)
        if match:
            found.append((int(match[1]), match[2], entry.read_text()))
    return sorted(found)
