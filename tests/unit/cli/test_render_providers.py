"""``hodei provider list``: the table and the JSON."""

from __future__ import annotations

from hodei_api import v1
from hodei_tui.cli.render_providers import provider_to_dict, providers_table

LOCAL = v1.ProviderInfo(
    name="local", kind="local", min=0, max=4, provisioning=1, connected=2, idle=1, slots=1
)
CLOUD = v1.ProviderInfo(
    name="cloud", kind="exec", max=2, last_error="create command exited with 3: no quota",
    retry_in_seconds=3.6, failures=2, labels={"zone": "eu"}, slots=1,
)  # fmt: skip


def test_the_table_shows_counts_and_the_last_error_with_its_back_off() -> None:
    assert providers_table([LOCAL, CLOUD]).splitlines() == [
        "NAME             KIND   MIN  MAX  PROVISIONING  CONNECTED  IDLE  LAST ERROR",
        "local            local  0    4    1             2          1     -",
        "cloud (zone=eu)  exec   0    2    0             0          0     "
        "create command exited with 3: no quota (retry in 4s)",
    ]


def test_no_provider_is_said_in_words() -> None:
    assert providers_table([]) == "no provider is configured: jobs run only on workers started by hand"


def test_json_has_every_field_under_its_proto_name() -> None:
    assert provider_to_dict(CLOUD) == {
        "name": "cloud", "kind": "exec", "min": 0, "max": 2, "provisioning": 0, "connected": 0,
        "idle": 0, "last_error": "create command exited with 3: no quota", "retry_in_seconds": 3.6,
        "failures": 2, "labels": {"zone": "eu"}, "slots": 1,
    }  # fmt: skip
