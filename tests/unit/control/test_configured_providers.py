"""Which providers hodeid builds from its flags, environment and config file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from hodeid.config import Settings
from hodeid.control.providers.configured import configured
from hodeid.control.providers.exec import ExecProvider
from hodeid.control.providers.local import LocalProvider
from hodeid.errors import ConfigError
from hodeid.main import parse_args


def test_the_local_provider_is_on_by_default_with_the_documented_limits() -> None:
    [local] = configured(Settings(**parse_args(["--listen", "127.0.0.1:6000"])))
    assert isinstance(local, LocalProvider)
    assert (local.limits.min, local.limits.max) == (0, os.cpu_count())
    assert (local.limits.idle_timeout, local.limits.provisioning_timeout) == (60.0, 30.0)
    assert local.server == "127.0.0.1:6000"
    assert local.program.name == "hodei-worker" and local.offer.slots == 1


def test_flags_set_the_local_provider_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HODEI_LOCAL_PROVIDER__MAX", "7")
    monkeypatch.setenv("HODEI_LOCAL_PROVIDER__SLOTS", "3")
    flags = ["--local-max", "2", "--local-idle-timeout", "5", "--local-provisioning-timeout", "9"]
    [local] = configured(Settings(**parse_args(flags)))
    assert (local.limits.max, local.offer.slots) == (2, 3)
    assert (local.limits.idle_timeout, local.limits.provisioning_timeout) == (5.0, 9.0)
    assert configured(Settings(**parse_args(["--no-local-provider"]))) == []


def test_exec_providers_come_from_the_config_file_after_local(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "hodeid.toml"
    config.write_text(
        '[[exec_providers]]\nname = "gpu"\ncreate = "ssh gpu1 start {worker_id}"\n'
        'destroy = "ssh gpu1 stop {worker_id}"\nmax = 3\ncpu = 16\nlabels = { gpu = "true" }\n'
    )
    monkeypatch.setenv("HODEI_CONFIG", str(config))
    local, gpu = configured(Settings())
    assert isinstance(local, LocalProvider) and isinstance(gpu, ExecProvider)
    assert (gpu.name, gpu.limits.max, gpu.offer.cpu, dict(gpu.offer.labels)) == (
        "gpu",
        3,
        16.0,
        {"gpu": "true"},
    )
    assert gpu.destroy_command == "ssh gpu1 stop {worker_id}"


def test_two_providers_may_not_share_a_name() -> None:
    settings = Settings(exec_providers=[{"name": "local", "create": "true"}])
    with pytest.raises(ConfigError, match="two providers are named 'local'"):
        configured(settings)


def test_local_job_user_becomes_the_workers_job_user_and_must_exist() -> None:
    [default] = configured(Settings(**parse_args([])))
    assert isinstance(default, LocalProvider) and "--job-user" not in default.flags
    [local] = configured(Settings(**parse_args(["--local-job-user", "nobody"])))
    assert isinstance(local, LocalProvider) and local.flags[-2:] == ["--job-user", "nobody"]
    with pytest.raises(ValidationError, match="there is no user 'no-such-user-hodei' on this host"):
        Settings(**parse_args(["--local-job-user", "no-such-user-hodei"]))
