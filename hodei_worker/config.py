"""The worker's settings: one model, built once in ``main`` from flags > environment > defaults."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from hodei_api.client import DEFAULT_ADDR, AddressError
from hodei_api.host import total_memory_mb
from hodei_api.names import label_key_problem, worker_id_problem
from hodei_worker.servers import server_list
from hodei_worker.state import default_state_dir


def default_cpu() -> float:
    """The number of CPUs the host has."""
    return float(os.cpu_count() or 1)


class WorkerSettings(BaseSettings):
    """Everything hodei-worker is told; environment variables are ``HODEI_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="HODEI_", validate_by_name=True)

    server: str = Field(default=DEFAULT_ADDR, validation_alias="HODEI_ADDR")
    """The daemon's HOST:PORT, or several daemons sharing one database as HOST:PORT,HOST:PORT
    (``--server``, ``HODEI_ADDR``): the worker connects to one and fails over to the others."""
    slots: int = Field(default=1, ge=1)
    """How many attempts may run at once (``--slots``)."""
    labels: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)
    """Labels job selectors match against (``--label K=V``; ``HODEI_LABELS="K=V,K=V"``)."""
    cpu: float = Field(default_factory=default_cpu, gt=0)
    """CPUs offered to jobs (``--cpu``; default: the host's count)."""
    memory_mb: int = Field(default_factory=total_memory_mb, gt=0)
    """Memory offered to jobs, in MiB (``--memory``; default: the host's total)."""
    worker_id: str = ""
    """This worker's id, stable across its reconnects (``--id``; unset: the id kept in the
    state directory, made once as HOSTNAME-RANDOM, so a restarted worker keeps its identity);
    letters, digits and ``. _ : @ -``."""
    state_dir: Path = Field(default_factory=default_state_dir)
    """Where the worker keeps its id and the credential that proves it (``--state-dir``;
    default ``/var/lib/hodei-worker`` as root, else the user's data directory)."""
    join_token: str = ""
    """Cluster join token or one-time provisioning token sent in Hello (``HODEI_JOIN_TOKEN``;
    unset, the contents of ``HODEI_JOIN_TOKEN_FILE``, else the ``join.token`` file in
    hodeid's default data directory)."""
    tls_ca: Path | None = None
    """CA bundle (PEM) to trust: connect over TLS (``--tls-ca``); unset, plaintext."""
    tls_cert: Path | None = None
    """Client certificate (PEM) to present, for a daemon that verifies workers' certificates."""
    tls_key: Path | None = None
    """Private key of ``tls_cert``."""
    heartbeat_seconds: float = Field(default=5.0, gt=0)
    """Heartbeat interval until the daemon's Welcome sets its own."""
    kill_grace_seconds: float = Field(default=10.0, gt=0)
    """Seconds from SIGTERM to SIGKILL when neither the cancel nor the job sets them."""
    max_log_line_bytes: int = Field(default=64 * 1024, ge=80)
    """Longer output lines are cut into pieces of this size, followed by a system line saying so."""
    job_user: str | None = None
    """OS user jobs run as when the worker runs as root (``--job-user``; default ``nobody``).
    Not as root, jobs run as the worker's own user, the only one allowed here."""
    outbox_mb: int = Field(default=64, ge=1)
    """Output kept for the daemon while it is unreachable, in MiB; past it the oldest goes."""

    @field_validator("server")
    @classmethod
    def _servers_are_host_port(cls, value: str) -> str:
        try:
            server_list(value)
        except AddressError as exc:
            raise ValueError(str(exc)) from None
        return value

    @property
    def servers(self) -> list[str]:
        """The daemon addresses of ``server``, in order, without repeats."""
        return server_list(self.server)

    @field_validator("labels", mode="before")
    @classmethod
    def _labels_from_pairs(cls, value: Any) -> Any:
        # The environment gives "gpu=true,zone=eu", the same K=V pairs as --label.
        if not isinstance(value, str):
            return value
        return dict(parse_label(pair) for pair in value.split(",") if pair.strip())

    @field_validator("labels")
    @classmethod
    def _label_keys_are_safe(cls, value: dict[str, str]) -> dict[str, str]:
        # The daemon refuses them at Hello; saying so here names the flag to fix.
        for key in value:
            if problem := label_key_problem(key):
                raise ValueError(problem)
        return value

    @field_validator("worker_id")
    @classmethod
    def _worker_id_is_safe(cls, value: str) -> str:
        # Empty: the state directory's id, checked when it is read.
        if value and (problem := worker_id_problem(value)):
            raise ValueError(problem)
        return value


def parse_label(text: str) -> tuple[str, str]:
    """``K=V`` as ``(K, V)``, or a ValueError saying what a label looks like."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"{text!r} is not KEY=VALUE (for example gpu=true)")
    return key.strip(), value.strip()


_FLAGS = {
    "server": "--server",
    "slots": "--slots",
    "labels": "--label",
    "cpu": "--cpu",
    "memory_mb": "--memory",
    "worker_id": "--id",
    "state_dir": "--state-dir",
    "tls_ca": "--tls-ca",
    "tls_cert": "--tls-cert",
    "tls_key": "--tls-key",
    "job_user": "--job-user",
}


def describe(error: ValidationError) -> str:
    """One line saying which settings are wrong and what they should be."""
    problems = []
    for item in error.errors():
        field = str(item["loc"][0])
        if field == "HODEI_ADDR":  # the server field reports its alias
            field = "server"
        env = "HODEI_ADDR" if field == "server" else f"HODEI_{field.upper()}"
        where = f"{_FLAGS[field]} / {env}" if field in _FLAGS else env
        if item["type"] == "value_error":
            message = str(item["ctx"]["error"])  # our own sentence, without pydantic's prefix
        else:
            message = f"{item['msg'][0].lower()}{item['msg'][1:]} (got {item['input']!r})"
        problems.append(f"{where}: {message}")
    return "; ".join(problems)
