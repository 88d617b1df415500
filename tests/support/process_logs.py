"""On failure, the logs of the processes a test started (``*.log`` in its ``tmp_path``) are
printed with the report. A conftest imports both names to use them for its folder."""

from __future__ import annotations

import sys
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

TAIL = 6000


@pytest.fixture(autouse=True)
def _show_process_logs(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[None]:
    yield
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        for path in sorted(tmp_path.glob("*.log")):
            sys.stderr.write(f"== {path.name}\n{path.read_text(errors='replace')[-TAIL:]}\n")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
