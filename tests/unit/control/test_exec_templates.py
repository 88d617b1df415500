"""The exec provider's command templates."""

from __future__ import annotations

import pytest

from hodeid.control.providers.exec import render

VALUES = {
    "worker_id": "gpu-1a2b",
    "addr": "10.0.0.5:50051",
    "token": "hodei-jt-x y",
    "labels": "gpu=true,zone=eu",
}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        (
            "ssh n1 hodei-worker --server {addr} --id {worker_id}",
            "ssh n1 hodei-worker --server 10.0.0.5:50051 --id gpu-1a2b",
        ),
        ("HODEI_JOIN_TOKEN={token} run", "HODEI_JOIN_TOKEN='hodei-jt-x y' run"),
        ("echo {labels}", "echo gpu=true,zone=eu"),
        ("echo ${HOME} {unknown} | awk '{print}'", "echo ${HOME} {unknown} | awk '{print}'"),
        ("{worker_id}{worker_id}", "gpu-1a2bgpu-1a2b"),
    ],
)
def test_placeholders_are_replaced_shell_quoted_and_other_braces_kept(template: str, expected: str) -> None:
    assert render(template, VALUES) == expected
