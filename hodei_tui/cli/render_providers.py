"""How providers look on the terminal and as JSON."""

from __future__ import annotations

from hodei_api import v1
from hodei_tui.cli.render import NONE, table
from hodei_tui.cli.render_workers import labels_text

PROVIDER_COLUMNS = ("NAME", "KIND", "MIN", "MAX", "PROVISIONING", "CONNECTED", "IDLE", "LAST ERROR")


def provider_to_dict(provider: v1.ProviderInfo) -> dict[str, object]:
    """Every ``ProviderInfo`` field under its proto (snake_case) name."""
    return {
        "name": provider.name,
        "kind": provider.kind,
        "min": provider.min,
        "max": provider.max,
        "provisioning": provider.provisioning,
        "connected": provider.connected,
        "idle": provider.idle,
        "last_error": provider.last_error,
        "retry_in_seconds": provider.retry_in_seconds,
        "failures": provider.failures,
        "labels": dict(provider.labels),
        "slots": provider.slots,
    }


def error_text(provider: v1.ProviderInfo) -> str:
    """The last error, with the back-off still to wait when there is one."""
    if not provider.last_error:
        return NONE
    if provider.retry_in_seconds > 0:
        return f"{provider.last_error} (retry in {provider.retry_in_seconds:.0f}s)"
    return provider.last_error


def providers_table(providers: list[v1.ProviderInfo]) -> str:
    """``provider list``: one row per provider, in the order the scheduler consults them."""
    if not providers:
        return "no provider is configured: jobs run only on workers started by hand"
    rows = [
        (
            p.name if not p.labels else f"{p.name} ({labels_text(dict(p.labels))})",
            p.kind,
            str(p.min),
            str(p.max),
            str(p.provisioning),
            str(p.connected),
            str(p.idle),
            error_text(p),
        )
        for p in providers
    ]
    return table(PROVIDER_COLUMNS, rows)
