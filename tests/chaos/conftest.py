"""Chaos fixtures: where a scenario of tests/support/chaos.py runs, and the process logs
shown when one fails."""

from __future__ import annotations

import sys
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

from tests.support.chaos import Stage
from tests.support.database import Databases, EmbeddedPostgres


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


@pytest.fixture(autouse=True)
def _show_process_logs(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[None]:
    """On failure, print what the daemon and workers logged (pytest shows it with the report)."""
    yield
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        for path in sorted(tmp_path.glob("*.log")):
            sys.stderr.write(f"== {path.name}\n{path.read_text(errors='replace')[-6000:]}\n")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
