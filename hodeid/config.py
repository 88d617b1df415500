"""The daemon's settings: one pydantic-settings model, from the TOML file (platformdirs)
< ``HODEI_*`` environment < command-line flags. Built once in ``main`` and passed down."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs
from pydantic import BaseModel, Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from hodeid.domain.placement import Strategy


def default_config_file() -> Path:
    """``hodeid.toml`` in the platform's config directory (``/etc/hodei`` as root)."""
    if os.geteuid() == 0:
        return Path("/etc/hodei/hodeid.toml")
    return Path(platformdirs.user_config_dir("hodei")) / "hodeid.toml"


def default_data_dir() -> Path:
    """Where the embedded database lives: ``/var/lib/hodei`` as root (never under /root,
    whose permissions the embedded server would open), else the user's data directory."""
    if os.geteuid() == 0:
        return Path("/var/lib/hodei")
    return Path(platformdirs.user_data_dir("hodei"))


class SchedulerSettings(BaseModel):
    """How jobs are placed and how workers are judged alive."""

    strategy: Strategy = Strategy.LEAST_LOADED
    """Placement strategy: least-loaded, first-available, most-capacity or bin-pack."""
    tick_seconds: float = Field(0.5, gt=0)
    """The controller re-runs at least this often, so no wake-up is ever lost for long."""
    claim_batch: int = Field(256, ge=1)
    """How many PENDING jobs one scheduling pass looks at."""
    dispatch_timeout_seconds: float = Field(10.0, gt=0)
    """A dispatched job the worker has not acknowledged by then goes back to PENDING."""
    heartbeat_interval_seconds: float = Field(5.0, gt=0)
    """How often daemon and worker send heartbeats; 3 missed ones mean the stream is dead."""
    lost_grace_seconds: float = Field(30.0, ge=0)
    """How long a disconnected worker's running attempts are kept before they are LOST."""
    decisions_per_job: int = Field(20, ge=1)
    """How many distinct placement decisions are kept for each job (newest first)."""


class Settings(BaseSettings):
    """Settings of ``hodeid``."""

    model_config = SettingsConfigDict(env_prefix="HODEI_", env_nested_delimiter="__", extra="forbid")

    listen: str = "127.0.0.1:50051"
    """HOST:PORT the gRPC API listens on."""
    database_url: str | None = None
    """PostgreSQL URL; unset, hodeid starts an embedded PostgreSQL in the data directory."""
    data_dir: Path = Field(default_factory=default_data_dir)
    """Directory for the embedded database and local state."""
    log_level: str = "INFO"
    """Logging level: DEBUG, INFO, WARNING or ERROR."""
    scheduler: SchedulerSettings = SchedulerSettings()
    """Placement and liveness."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        config_file = Path(os.environ.get("HODEI_CONFIG", default_config_file()))
        toml = TomlConfigSettingsSource(settings_cls, toml_file=config_file)
        return init_settings, env_settings, toml
