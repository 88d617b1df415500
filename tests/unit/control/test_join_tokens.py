"""Which tokens are a provider's (the rest of JoinTokens is in tests/integration/test_join_tokens.py,
on PostgreSQL, where the tokens live)."""

from __future__ import annotations

import pytest

from hodei_api.worker_identity import ONE_TIME_PREFIX, RESUME_PREFIX, provisioned


@pytest.mark.parametrize(
    ("token", "expected"),
    [(ONE_TIME_PREFIX + "x", True), (RESUME_PREFIX + "x", True), ("hodei-join-cluster", False), ("", False)],
)
def test_only_provider_tokens_count_as_provisioned(token: str, expected: bool) -> None:
    # A provisioned worker proves its id with these; any other token needs the id's credential.
    assert provisioned(token) is expected
