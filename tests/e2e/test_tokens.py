"""``hodeid token`` and what the CLI says when its token is missing, wrong or revoked."""

from __future__ import annotations

import subprocess
import time

from tests.support.jobs import cli_json
from tests.support.processes import BIN, Cluster


def hodei_with(c: Cluster, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[bytes]:
    base = {k: v for k, v in c.env().items() if k not in ("HODEI_TOKEN", "HODEI_TOKEN_FILE")}
    return subprocess.run([str(BIN / "hodei"), *args], capture_output=True, env={**base, **env}, timeout=60)


def test_create_list_revoke(bare: Cluster) -> None:
    made = bare.hodeid("token", "create", "--role", "admin", "--name", "ci")
    assert made.returncode == 0, made.stderr
    token = made.stdout.decode().strip()
    assert b"shown only once" in made.stderr
    assert hodei_with(bare, {"HODEI_TOKEN": token}, "job", "list").returncode == 0
    listed = bare.hodeid("token", "list").stdout.decode()
    assert "ci" in listed and "admin" in listed and token not in listed
    again = bare.hodeid("token", "create", "--role", "read", "--name", "ci")
    assert again.returncode == 1
    assert b"a token named 'ci' exists" in again.stderr
    assert bare.hodeid("token", "revoke", "ci").returncode == 0
    refused = hodei_with(bare, {"HODEI_TOKEN": token}, "job", "list")
    assert refused.returncode == 125
    assert b"was revoked" in refused.stderr and b"HODEI_TOKEN" in refused.stderr
    unknown = bare.hodeid("token", "revoke", "ci")
    assert unknown.returncode == 1 and b"no live token" in unknown.stderr


def test_the_cli_finds_the_admin_token_in_the_daemons_data_dir(bare: Cluster) -> None:
    result = hodei_with(bare, {"HODEI_DATA_DIR": str(bare.data_dir)}, "job", "list")
    assert result.returncode == 0, result.stderr


def test_without_a_token_the_cli_says_what_to_do(bare: Cluster) -> None:
    empty = bare.log_dir / "empty"
    result = hodei_with(bare, {"HODEI_DATA_DIR": str(empty)}, "job", "list")
    assert result.returncode == 125
    assert b"no bearer token" in result.stderr
    where = f"hodei sent no token (no HODEI_TOKEN, no HODEI_TOKEN_FILE, and {empty}/admin.token not found)"
    assert where.encode() in result.stderr


def test_a_token_from_another_daemons_data_dir_is_named_by_its_path(bare: Cluster) -> None:
    # As after `hodeid --data-dir /tmp/x`: hodei read the default data dir of another daemon.
    other = bare.log_dir / "other-daemon"
    other.mkdir()
    (other / "admin.token").write_text("hodei_0123456789abcdef.not-this-daemons\n")
    result = hodei_with(bare, {"HODEI_DATA_DIR": str(other)}, "job", "list")
    assert result.returncode == 125
    err = result.stderr.decode()
    assert f"hodei read its token from {other / 'admin.token'}; set HODEI_TOKEN" in err, err
    assert err.count("\n") == 1


def test_a_wrong_token_file_is_named(bare: Cluster) -> None:
    wrong = bare.log_dir / "wrong.token"
    wrong.write_text("hodei_0123456789abcdef.wrong\n")
    result = hodei_with(bare, {"HODEI_TOKEN_FILE": str(wrong)}, "job", "list")
    assert result.returncode == 125
    assert f"hodei read its token from HODEI_TOKEN_FILE ({wrong})".encode() in result.stderr
    from_variable = hodei_with(bare, {"HODEI_TOKEN": "hodei_0123456789abcdef.wrong"}, "job", "list")
    assert b"hodei read its token from HODEI_TOKEN;" in from_variable.stderr


def test_a_read_token_cannot_submit(bare: Cluster) -> None:
    token = bare.hodeid("token", "create", "--role", "read").stdout.decode().strip()
    assert hodei_with(bare, {"HODEI_TOKEN": token}, "job", "list").returncode == 0
    result = hodei_with(bare, {"HODEI_TOKEN": token}, "job", "run", "--detach", "--", "true")
    assert result.returncode == 125
    assert b"needs a token of role admin" in result.stderr


def test_a_worker_with_a_wrong_join_token_is_refused_and_told_why(bare: Cluster) -> None:
    bare.start_worker("--id", "intruder", env={"HODEI_JOIN_TOKEN": "hodei-join-guess"})
    log = bare.log_dir / "worker-0.log"
    deadline = time.monotonic() + 30
    while "UNAUTHENTICATED" not in log.read_text():
        assert time.monotonic() < deadline, bare.logs()
        time.sleep(0.2)
    assert "set HODEI_JOIN_TOKEN to the cluster's join token" in log.read_text()
    assert "(join token from HODEI_JOIN_TOKEN; this worker's credential file:" in log.read_text()
    assert cli_json(bare, "worker", "list") == []
    # The worker gave up at once, and the daemon logged and counted the refusal.
    assert bare.workers[0].wait(timeout=30) == 1
    assert "worker stream refused for id 'intruder'" in (bare.log_dir / "hodeid.log").read_text()


def test_a_worker_names_the_join_token_file_it_read(bare: Cluster) -> None:
    wrong = bare.log_dir / "wrong-join.token"
    wrong.write_text("hodei-join-guess\n")
    bare.start_worker("--id", "intruder", env={"HODEI_JOIN_TOKEN_FILE": str(wrong)})
    assert bare.workers[0].wait(timeout=30) == 1
    log = (bare.log_dir / "worker-0.log").read_text()
    assert f"(join token from HODEI_JOIN_TOKEN_FILE ({wrong}); this worker's credential file:" in log, log
