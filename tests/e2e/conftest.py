"""End-to-end fixtures: real hodeid and hodei-worker processes on loopback."""

from __future__ import annotations

import sys
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

from tests.support.processes import Cluster, cluster


@pytest.fixture
def system(database_url: str, tmp_path: Path) -> Iterator[Cluster]:
    """hodeid and one worker with 2 slots."""
    with cluster(database_url, tmp_path, workers=[["--slots", "2"]]) as c:
        yield c


@pytest.fixture
def bare(database_url: str, tmp_path: Path) -> Iterator[Cluster]:
    """hodeid with no worker."""
    with cluster(database_url, tmp_path) as c:
        yield c


@pytest.fixture(autouse=True)
def _show_process_logs(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[None]:
    """On failure, print what the daemon and workers logged (pytest shows it with the report)."""
    yield
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        for path in sorted(tmp_path.glob("*.log")):
            sys.stderr.write(f"== {path.name}\n{path.read_text(errors='replace')[-4000:]}\n")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
