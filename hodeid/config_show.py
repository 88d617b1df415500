"""``hodeid config show``: the effective settings, each with where it came from: ``flag``,
``env`` (``HODEI_*``), ``file`` (the TOML file) or ``default``, in that order of precedence."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic_settings import EnvSettingsSource, TomlConfigSettingsSource

from hodeid.config import Settings, config_file
from hodeid.store.db import redact


def explain(flags: Mapping[str, Any]) -> list[tuple[str, Any, str]]:
    """``(dotted key, value, source)`` for every setting, secrets masked."""
    effective = _flatten(Settings(**flags).model_dump(mode="json"))
    given = [
        ("flag", _flatten(flags)),
        ("env", _flatten(EnvSettingsSource(Settings)())),
        ("file", _flatten(TomlConfigSettingsSource(Settings, toml_file=config_file())())),
    ]
    rows = []
    for key, value in effective.items():
        source = next((name for name, keys in given if _within(key, keys)), "default")
        rows.append((key, _masked(key, value), source))
    return rows


def render(flags: Mapping[str, Any]) -> str:
    """The rows of ``explain`` as aligned text, below a line naming the config file."""
    path = config_file()
    lines = [f"# config file: {path}{'' if path.is_file() else ' (not found)'}"]
    rows = [(key, json.dumps(value), source) for key, value, source in explain(flags)]
    width = max(len(key) for key, _, _ in rows)
    value_width = min(max(len(value) for _, value, _ in rows), 48)
    lines += [f"{key:<{width}}  {value:<{value_width}}  {source}" for key, value, source in rows]
    return "\n".join(lines) + "\n"


def _flatten(values: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, Mapping) and value:
            flat |= _flatten(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _within(key: str, given: Mapping[str, Any]) -> bool:
    """Whether ``key`` or a setting that contains it was given (``scheduler`` as a whole
    covers ``scheduler.tick_seconds``)."""
    return any(key == g or key.startswith(f"{g}.") for g in given)


def _masked(key: str, value: Any) -> Any:
    if value and key.endswith("token"):
        return "***"
    if key == "database_url" and isinstance(value, str):
        return redact(value)
    return value
