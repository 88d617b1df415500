"""Chaos fixtures: where a scenario of tests/support/chaos.py runs, and the process logs
shown when one fails."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.chaos import Stage
from tests.support.database import Databases, EmbeddedPostgres
from tests.support.process_logs import _show_process_logs, pytest_runtest_makereport


@pytest.fixture
def stage(databases: Databases, tmp_path: Path) -> Iterator[Stage]:
    """Fresh databases on the test server, dropped afterwards."""
    made: list[str] = []

    def new_database() -> str:
        made.append(databases.create())
        return databases.url(made[-1])

    yield Stage(new_database, tmp_path)
    for name in made:
        databases.drop(name)


@pytest.fixture
def embedded_stage(stage: Stage) -> Iterator[Stage]:
    """The stage with a PostgreSQL of its own, which the scenario may stop and start."""
    pg = EmbeddedPostgres()
    try:
        yield Stage(stage.new_database, stage.log_dir, pg)
    finally:
        pg.close()


__all__ = ["_show_process_logs", "pytest_runtest_makereport"]
