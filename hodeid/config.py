"""The daemon's settings: one pydantic-settings model, from the TOML file (platformdirs)
< ``HODEI_*`` environment < command-line flags. Built once in ``main`` and passed down."""

from __future__ import annotations

import os
import pwd
from pathlib import Path

import platformdirs
from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from hodei_api.paths import default_data_dir
from hodeid.domain.placement import Strategy
from hodeid.logformat import LogFormat


def default_config_file() -> Path:
    """``hodeid.toml`` in the platform's config directory (``/etc/hodei`` as root)."""
    if os.geteuid() == 0:
        return Path("/etc/hodei/hodeid.toml")
    return Path(platformdirs.user_config_dir("hodei")) / "hodeid.toml"


def config_file() -> Path:
    """The TOML file settings are read from: ``$HODEI_CONFIG``, else the default one."""
    return Path(os.environ.get("HODEI_CONFIG", default_config_file()))


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
    lease_seconds: float = Field(15.0, gt=0)
    """How long this daemon's lease lasts unrenewed (it renews it three times as often): a
    daemon gone this long no longer holds its workers' streams, for the daemons sharing its
    database."""
    decisions_per_job: int = Field(20, ge=1)
    """How many distinct placement decisions are kept for each job (newest first)."""


class LimitSettings(BaseModel):
    """What the daemon accepts; anything over is refused with INVALID_ARGUMENT or
    RESOURCE_EXHAUSTED naming the limit (``limits.<name>``). The log limits bound what the
    daemon holds for log readers: nothing is refused, a reader past them reads storage."""

    max_message_bytes: int = Field(4 * 1024 * 1024, ge=1024)
    """Largest gRPC message a client or worker may send, in bytes (4 MiB, gRPC's usual)."""
    max_command_bytes: int = Field(128 * 1024, ge=1)
    """Total bytes of a job's command and arguments."""
    max_command_args: int = Field(4096, ge=1)
    """Arguments of a job's command."""
    max_env_vars: int = Field(1024, ge=0)
    """Environment variables one job may set."""
    max_env_bytes: int = Field(128 * 1024, ge=0)
    """Total bytes of a job's environment names and values."""
    max_selector_terms: int = Field(64, ge=0)
    """Selector terms (``K=V``) of one job."""
    max_label_bytes: int = Field(1024, ge=1)
    """Bytes of one selector term or worker label (key and value together)."""
    max_worker_labels: int = Field(64, ge=0)
    """Labels one worker may declare in its Hello."""
    max_pending_per_submitter: int = Field(10_000, ge=1)
    """PENDING jobs one API token may have; past it submissions get RESOURCE_EXHAUSTED."""
    log_page_bytes: int = Field(1024 * 1024, ge=1024)
    """Bytes of log data in one message of a job's history sent to a reader (a longer line
    goes alone): what one reader, even one that stopped reading, holds in the daemon."""
    follower_buffer_bytes: int = Field(1024 * 1024, ge=1024)
    """Bytes of live log lines queued for one follower; a follower further behind drops its
    queue and catches up from storage, slowing neither the job nor other followers."""
    followers_buffer_bytes: int = Field(64 * 1024 * 1024, ge=1024)
    """Bytes of live log lines queued for all followers together; past it, a follower with
    unread lines drops its queue and catches up from storage."""


def _cpu_count() -> int:
    return os.cpu_count() or 1


class ProviderSettings(BaseModel):
    """What each worker a provider creates offers, how many it keeps, how long it waits."""

    min: int = Field(0, ge=0)
    """Workers kept even when there is nothing to run."""
    max: int = Field(default_factory=_cpu_count, ge=1)
    """Workers it never goes beyond, whatever the queue (default: the number of CPUs)."""
    slots: int = Field(1, ge=1)
    """Slots of each worker it creates."""
    labels: dict[str, str] = Field(default_factory=dict)
    """Labels of each worker it creates, for job selectors."""
    cpu: float | None = Field(None, gt=0)
    """CPUs each worker offers (default: the daemon host's count)."""
    memory_mb: int | None = Field(None, gt=0)
    """Memory each worker offers, in MiB (default: the daemon host's total)."""
    idle_timeout_seconds: float = Field(60.0, gt=0)
    """A worker above ``min`` idle this long is drained and destroyed."""
    provisioning_timeout_seconds: float = Field(30.0, gt=0)
    """A created worker that has not connected by then is destroyed and counts as a failure."""


class LocalProviderSettings(ProviderSettings):
    """The ``local`` provider: ``hodei-worker`` subprocesses on the daemon's host."""

    enabled: bool = True
    """On by default, so that a bare ``hodeid`` runs jobs (``--no-local-provider`` turns it off)."""
    tls_ca: Path | None = None
    """CA bundle its workers trust when hodeid serves TLS (default: ``tls_cert`` itself, which
    holds for a self-signed certificate or a chain that includes its CA)."""
    tls_cert: Path | None = None
    """Client certificate its workers present when ``tls_client_ca`` is set."""
    tls_key: Path | None = None
    """Private key of ``local_provider.tls_cert``."""
    job_user: str | None = None
    """OS user its workers run jobs as (their ``--job-user``); unset, the workers' default:
    ``nobody`` when hodeid runs as root, else hodeid's own user."""

    @field_validator("job_user")
    @classmethod
    def _job_user_exists(cls, value: str | None) -> str | None:
        # Said at start, rather than by every worker the provider would start and lose.
        if value is None:
            return None
        try:
            pwd.getpwuid(int(value)) if value.isdigit() else pwd.getpwnam(value)
        except KeyError:
            raise ValueError(f"there is no user {value!r} on this host; give an existing user") from None
        return value


class ExecProviderSettings(ProviderSettings):
    """An ``exec`` provider: operator commands, run with ``sh -c``, that create and destroy a
    worker (as Slurm's ResumeProgram/SuspendProgram). Placeholders, shell-quoted:
    ``{worker_id}``, ``{addr}``, ``{token}``, ``{labels}`` (``k=v,k=v``)."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    """The provider's name, in traces and ``hodei provider list``; its workers' ids start with it."""
    create: str = Field(min_length=1)
    """Starts a worker that connects to ``{addr}`` as ``{worker_id}`` with ``HODEI_JOIN_TOKEN={token}``,
    and returns once it is started; a non-zero exit is a failure."""
    destroy: str = ""
    """Makes sure the worker ``{worker_id}`` is gone (run when it is idle, lost, or failed)."""
    max: int = Field(1, ge=1)
    """Workers it never goes beyond, whatever the queue."""


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
    metrics_listen: str | None = None
    """HOST:PORT to serve Prometheus metrics on (``/metrics``); unset, none are served."""
    log_format: LogFormat = LogFormat.TEXT
    """Log lines on stderr for people (``text``) or JSON lines for collectors (``json``)."""
    scheduler: SchedulerSettings = SchedulerSettings()
    """Placement and liveness."""
    limits: LimitSettings = LimitSettings()
    """Limits on what clients and workers send."""
    tls_cert: Path | None = None
    """PEM certificate chain the gRPC API serves TLS with (with ``tls_key``); unset, plaintext."""
    tls_key: Path | None = None
    """PEM private key of ``tls_cert``."""
    tls_client_ca: Path | None = None
    """PEM CA bundle: with it, every client must present a certificate signed by one of these
    (mutual TLS, e.g. for workers on other hosts); needs ``tls_cert``."""
    local_provider: LocalProviderSettings = LocalProviderSettings()
    """The ``local`` provider, which starts workers on this host when jobs need them."""
    exec_providers: list[ExecProviderSettings] = Field(default_factory=list)
    """Providers that create workers with commands, tried after ``local`` in this order."""
    join_token: SecretStr | None = None
    """Cluster join token workers started by hand must present (``HODEI_JOIN_TOKEN``); unset,
    the one in ``join.token`` in the data directory (written on first start). Provisioned
    workers get a one-time token of their own."""
    join_token_ttl_seconds: float = Field(300.0, gt=0)
    """How long a provisioned worker's one-time join token stays valid."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=config_file())
        return init_settings, env_settings, toml
