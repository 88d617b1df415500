"""The providers the settings ask for, in the order the scheduler consults them."""

from __future__ import annotations

import os

from hodei_api.host import total_memory_mb
from hodeid.config import ProviderSettings, Settings
from hodeid.control.providers.base import Limits, Provider
from hodeid.control.providers.exec import ExecProvider
from hodeid.control.providers.local import LocalProvider
from hodeid.domain.scaling import Offer
from hodeid.errors import ConfigError


def offer_of(p: ProviderSettings) -> Offer:
    cpu = p.cpu if p.cpu is not None else float(os.cpu_count() or 1)
    memory = p.memory_mb if p.memory_mb is not None else total_memory_mb()
    return Offer(dict(p.labels), p.slots, cpu, memory)


def limits_of(p: ProviderSettings) -> Limits:
    return Limits(p.min, p.max, p.idle_timeout_seconds, p.provisioning_timeout_seconds)


def configured(settings: Settings) -> list[Provider]:
    """``local`` first when enabled, then the exec providers; all connect their workers to
    the daemon's own listen address."""
    providers: list[Provider] = []
    local = settings.local_provider
    if local.enabled:
        flags: list[str] = []
        if settings.tls_cert is not None:
            flags += ["--tls-ca", str(local.tls_ca or settings.tls_cert)]
            if local.tls_cert is not None:
                flags += [
                    "--tls-cert",
                    str(local.tls_cert),
                    "--tls-key",
                    str(local.tls_key or local.tls_cert),
                ]
        if local.job_user:
            flags += ["--job-user", local.job_user]
        providers.append(
            LocalProvider("local", offer_of(local), limits_of(local), settings.listen, flags=flags)
        )
    for p in settings.exec_providers:
        if any(other.name == p.name for other in providers):
            raise ConfigError(f"two providers are named {p.name!r}; give each exec provider its own name")
        providers.append(
            ExecProvider(p.name, offer_of(p), limits_of(p), settings.listen, p.create, p.destroy)
        )
    return providers
