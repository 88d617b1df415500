"""At ``--log-level DEBUG`` the daemon's log says what it does, never a caller's token: the
HTTP/2 libraries, which log every header they decode, stay at WARNING."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.processes import Cluster


@pytest.fixture
def debug_cluster(database_url: str, tmp_path: Path) -> Iterator[Cluster]:
    c = Cluster(database_url, tmp_path)
    try:
        c.start_daemon("--log-level", "DEBUG")
        yield c
    finally:
        c.close()


def test_no_bearer_token_in_the_daemons_debug_log(debug_cluster: Cluster) -> None:
    token = debug_cluster.admin_token()
    listed = debug_cluster.hodei("job", "list")
    assert listed.returncode == 0, listed.stderr
    run = debug_cluster.hodei("job", "run", "--detach", "--", "true")
    assert run.returncode == 0, run.stderr
    log = (debug_cluster.log_dir / "hodeid.log").read_text()
    assert "DEBUG" in log  # the daemon did log at DEBUG
    secret = token.partition(".")[2]
    assert secret and secret not in log
