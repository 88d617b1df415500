"""``hodeid config show``: every setting with its effective value and where it came from."""

from __future__ import annotations

from pathlib import Path

import pytest

from hodeid.config_show import explain
from hodeid.main import main


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "hodeid.toml"
    path.write_text('listen = "127.0.0.1:7000"\nlog_level = "DEBUG"\n[scheduler]\nclaim_batch = 64\n')
    monkeypatch.setenv("HODEI_CONFIG", str(path))
    return path


def sources(flags: dict[str, object]) -> dict[str, tuple[object, str]]:
    return {key: (value, source) for key, value, source in explain(flags)}


def test_flag_beats_env_beats_file_beats_default(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HODEI_LOG_LEVEL", "WARNING")
    monkeypatch.setenv("HODEI_SCHEDULER__TICK_SECONDS", "0.3")
    found = sources({"listen": "127.0.0.1:8000"})
    assert found["listen"] == ("127.0.0.1:8000", "flag")
    assert found["log_level"] == ("WARNING", "env")
    assert found["scheduler.tick_seconds"] == (0.3, "env")
    assert found["scheduler.claim_batch"] == (64, "file")
    assert found["scheduler.dispatch_timeout_seconds"] == (10.0, "default")
    assert found["log_format"] == ("text", "default")


def test_a_whole_section_given_as_json_covers_its_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HODEI_SCHEDULER", '{"claim_batch": 8}')
    assert sources({})["scheduler.claim_batch"] == (8, "env")


def test_the_database_password_is_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HODEI_DATABASE_URL", "postgresql://hodei:s3cret@db/hodei")
    assert sources({})["database_url"] == ("postgresql://hodei:***@db/hodei", "env")


def test_config_show_prints_one_aligned_line_per_setting(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["--log-format", "json", "config", "show"])
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"# config file: {config_file}"
    rows = {line.split()[0]: line.split()[1:] for line in out[1:]}
    assert rows["listen"] == ['"127.0.0.1:7000"', "file"]
    assert rows["log_format"] == ['"json"', "flag"]
    assert rows["scheduler.strategy"] == ['"least-loaded"', "default"]
    assert len({line.rindex(" ") for line in out[1:]}) == 1


def test_config_without_an_action_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["config"])
    assert info.value.code == 2
    assert "show" in capsys.readouterr().err
