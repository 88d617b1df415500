"""Fixtures shared by the CLI tests."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def no_hodei_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A developer's own HODEI_ADDR or token must not leak into a test."""
    for key in list(os.environ):
        if key.startswith("HODEI_"):
            monkeypatch.delenv(key)
