"""``hodei daemon list``."""

from __future__ import annotations

import argparse

from hodei_tui.backend import Backend
from hodei_tui.cli.exit_codes import OK
from hodei_tui.cli.render import to_json, to_json_line
from hodei_tui.cli.render_daemons import daemon_to_dict, daemons_table


async def list_command(args: argparse.Namespace, backend: Backend) -> int:
    """``hodei daemon list [-o json|jsonl]``."""
    listed = await backend.list_daemons()
    rows = [daemon_to_dict(daemon, listed.answered_by) for daemon in listed.daemons]
    if args.output == "json":
        print(to_json(rows))
    elif args.output == "jsonl":
        for row in rows:
            print(to_json_line(row))
    else:
        print(daemons_table(listed))
    return OK
