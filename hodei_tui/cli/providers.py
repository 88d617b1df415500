"""``hodei provider list``."""

from __future__ import annotations

import argparse

from hodei_tui.backend import Backend
from hodei_tui.cli.exit_codes import OK
from hodei_tui.cli.render import to_json
from hodei_tui.cli.render_providers import provider_to_dict, providers_table


async def list_command(args: argparse.Namespace, backend: Backend) -> int:
    """``hodei provider list [-o json]``."""
    providers = await backend.list_providers()
    if args.output == "json":
        print(to_json([provider_to_dict(provider) for provider in providers]))
    else:
        print(providers_table(providers))
    return OK
