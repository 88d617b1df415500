"""Worker settings: defaults, environment, flags over both, and errors a person can act on."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs
import pytest
from pydantic import ValidationError

from hodei_api.host import total_memory_mb
from hodei_worker.config import WorkerSettings, describe
from hodei_worker.main import _parser, settings_from_args


def from_flags(*argv: str) -> WorkerSettings:
    return settings_from_args(_parser().parse_args(argv))


def test_defaults() -> None:
    settings = WorkerSettings()
    assert settings.server == "127.0.0.1:50051"
    assert (settings.slots, settings.labels, settings.join_token) == (1, {}, "")
    assert settings.cpu == os.cpu_count()
    assert settings.memory_mb == total_memory_mb() > 0
    # The id comes from the state directory (kept there on first start), not from here.
    assert settings.worker_id == ""
    assert settings.state_dir == (
        Path("/var/lib/hodei-worker")
        if os.geteuid() == 0
        else Path(platformdirs.user_data_dir("hodei-worker"))
    )


def test_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HODEI_ADDR", "daemon.example:7000")
    monkeypatch.setenv("HODEI_SLOTS", "4")
    monkeypatch.setenv("HODEI_LABELS", "gpu=true, zone = eu")
    monkeypatch.setenv("HODEI_CPU", "1.5")
    monkeypatch.setenv("HODEI_MEMORY_MB", "2048")
    monkeypatch.setenv("HODEI_WORKER_ID", "w-env")
    monkeypatch.setenv("HODEI_JOIN_TOKEN", "tok")
    settings = WorkerSettings()
    assert (settings.server, settings.slots, settings.cpu, settings.memory_mb) == (
        "daemon.example:7000",
        4,
        1.5,
        2048,
    )
    assert (settings.labels, settings.worker_id, settings.join_token) == (
        {"gpu": "true", "zone": "eu"},
        "w-env",
        "tok",
    )


def test_flags_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HODEI_ADDR", "env:1")
    monkeypatch.setenv("HODEI_SLOTS", "4")
    monkeypatch.setenv("HODEI_LABELS", "from=env")
    settings = from_flags(
        "--server", "[::1]:9", "--slots", "3", "--label", "a=1", "--label", "b=x=y", "--cpu", "0.5",
        "--memory", "100", "--id", "w-flag", "--state-dir", "/srv/w",
    )  # fmt: skip
    assert (settings.server, settings.slots, settings.cpu, settings.memory_mb) == ("[::1]:9", 3, 0.5, 100)
    assert (settings.labels, settings.worker_id, settings.state_dir) == (
        {"a": "1", "b": "x=y"}, "w-flag", Path("/srv/w"),
    )  # fmt: skip


def test_unset_flags_leave_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HODEI_SLOTS", "4")
    monkeypatch.setenv("HODEI_LABELS", "from=env")
    settings = from_flags("--cpu", "2")
    assert (settings.slots, settings.labels, settings.cpu) == (4, {"from": "env"}, 2.0)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"slots": 0}, "--slots / HODEI_SLOTS: input should be greater than or equal to 1 (got 0)"),
        (
            {"server": "nonsense"},
            "--server / HODEI_ADDR: daemon address 'nonsense' is not HOST:PORT (for example 127.0.0.1:50051)",
        ),
        ({"labels": "gpu"}, "--label / HODEI_LABELS: 'gpu' is not KEY=VALUE (for example gpu=true)"),
        (
            {"cpu": 0, "memory_mb": -1},
            "--cpu / HODEI_CPU: input should be greater than 0 (got 0); "
            "--memory / HODEI_MEMORY_MB: input should be greater than 0 (got -1)",
        ),
        ({"heartbeat_seconds": 0}, "HODEI_HEARTBEAT_SECONDS: input should be greater than 0 (got 0)"),
        (
            {"worker_id": "w\n2026-01-01 INFO forged"},
            "--id / HODEI_WORKER_ID: worker id 'w\\n2026-01-01 INFO forged' is not valid; use letters, "
            "digits and . _ : @ -, starting with a letter or digit (e.g. build-1)",
        ),
        (
            {"worker_id": "-x", "labels": {"a b": "1"}},
            "--label / HODEI_LABELS: label key 'a b' is not valid; use letters, digits and . _ / - "
            "(e.g. gpu or zone/rack); --id / HODEI_WORKER_ID: worker id '-x' is not valid; use letters, "
            "digits and . _ : @ -, starting with a letter or digit (e.g. build-1)",
        ),
        (
            {"labels": "zone=a,gpu\x1b[2J=true"},
            "--label / HODEI_LABELS: label key 'gpu\\x1b[2J' is not valid; use letters, digits and "
            ". _ / - (e.g. gpu or zone/rack)",
        ),
    ],
)
def test_errors_say_which_setting_and_what_it_should_be(values: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        WorkerSettings.model_validate(values)
    assert describe(caught.value) == message


def test_tls_flags_and_line_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HODEI_TLS_CA", "/env/ca.pem")
    monkeypatch.setenv("HODEI_MAX_LOG_LINE_BYTES", "4096")
    settings = from_flags("--tls-cert", "/c.pem", "--tls-key", "/k.pem")
    assert (str(settings.tls_ca), str(settings.tls_cert), str(settings.tls_key)) == (
        "/env/ca.pem",
        "/c.pem",
        "/k.pem",
    )
    assert settings.max_log_line_bytes == 4096
    assert str(from_flags("--tls-ca", "/flag/ca.pem").tls_ca) == "/flag/ca.pem"
