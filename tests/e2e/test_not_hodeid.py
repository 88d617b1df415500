"""An address that accepts connections but is not hodeid (another service, or a port that
never speaks) is said to be so, at once or within the answer deadline, instead of being waited
on as an unreachable daemon; no request, so no token, is sent to it."""

from __future__ import annotations

import subprocess

import pytest

from tests.support.impostor import impostor
from tests.support.processes import BIN

TOKEN = "hodei_000000000000.secretsecretsecretsecret"


@pytest.mark.parametrize(
    ("reply", "said"),
    [
        (b"-ERR unknown command 'PRI'\r\n", "does not answer as hodeid (no HTTP/2; it began b'-ERR unkn')"),
        (None, "accepted the connection but said nothing in 5 s, as hodeid would at once"),
    ],
    ids=["another service", "a silent port"],
)
def test_the_cli_says_the_address_is_not_hodeid(reply: bytes | None, said: str) -> None:
    with impostor(reply) as (port, received):
        done = subprocess.run(
            [str(BIN / "hodei"), "--addr", f"127.0.0.1:{port}", "job", "list"],
            capture_output=True, text=True, timeout=60,
            env={"PATH": "/usr/bin:/bin", "HODEI_TOKEN": TOKEN, "HODEI_CONFIG": "/nonexistent.toml"},
        )  # fmt: skip
    assert done.returncode == 125
    assert said in done.stderr, done.stderr
    assert "is --addr/HODEI_ADDR hodeid's gRPC port" in done.stderr
    assert all(b"secret" not in chunk for chunk in received)
