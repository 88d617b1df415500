"""The ``hodei`` command: the scripted CLI, and with no command (later) the console."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence

from hodei_api.client import resolve_addr
from hodei_tui.backend import connect
from hodei_tui.cli.exit_codes import BROKEN_PIPE, HODEI_FAILED, INTERRUPTED, NO_COMMAND
from hodei_tui.cli.parser import Handler, parse_args
from hodei_tui.errors import HodeiError


def fail(error: HodeiError) -> int:
    """Report one of hodei's own failures as its single stderr line."""
    print(f"hodei: {error}", file=sys.stderr)
    return HODEI_FAILED


async def execute(args: argparse.Namespace) -> int:
    """Run a parsed command against its daemon and return the exit status."""
    try:
        handler: Handler = args.handler
        tls_ca = getattr(args, "tls_ca", None) or os.environ.get("HODEI_TLS_CA")
        async with connect(resolve_addr(getattr(args, "addr", None)), tls_ca) as backend:
            return await handler(args, backend)
    except HodeiError as error:
        return fail(error)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``hodei`` console script."""
    try:
        args = parse_args(argv)
    except HodeiError as error:
        return fail(error)
    if args.handler is None:
        # The Textual console will open here; until then there is nothing to do without a command.
        args.usage_parser.print_help(sys.stderr)
        return NO_COMMAND
    try:
        return asyncio.run(execute(args))
    except KeyboardInterrupt:
        return INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`hodei job logs X | head`): stop quietly like other Unix tools,
        # pointing stdout at /dev/null so the interpreter's final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return BROKEN_PIPE
