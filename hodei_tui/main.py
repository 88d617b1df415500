"""The ``hodei`` command: the scripted CLI, and with no command (or ``tui``) the console.

Start time is mostly imports, so this module imports only the parser: a command's module (and
with it gRPC and the messages) when the command runs, and the console (Textual) only for the
console. tests/integration/test_cli_imports.py holds every command to that.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from hodei_api.printable import printable
from hodei_tui.cli.exit_codes import BROKEN_PIPE, HODEI_FAILED, INTERRUPTED, OK
from hodei_tui.cli.parser import Command, parse_args
from hodei_tui.errors import HodeiError


def fail(error: HodeiError) -> int:
    """Report one of hodei's own failures as its single stderr line."""
    # The daemon's message may quote what it refused (a name, a selector): data, not control.
    print(printable(f"hodei: {error}"), file=sys.stderr)
    return HODEI_FAILED


async def execute(args: argparse.Namespace) -> int:
    """Run a parsed command against its daemon and return the exit status."""
    from hodei_api.client import resolve_addr
    from hodei_tui.backend import connect

    try:
        command: Command = args.handler
        handler = command.load()
        async with connect(resolve_addr(getattr(args, "addr", None)), _tls_ca(args)) as backend:
            return await handler(args, backend)
    except HodeiError as error:
        return fail(error)


def _tls_ca(args: argparse.Namespace) -> str | None:
    return getattr(args, "tls_ca", None) or os.environ.get("HODEI_TLS_CA")


async def console(addr: str, tls_ca: str | None) -> int:
    """Open the console on the daemon at ``addr`` (or the first of several, comma-separated,
    that answers) until the user quits (the client is made in the app's event loop, which its
    channels belong to)."""
    from hodei_tui.backend import Backend, open_clients
    from hodei_tui.console.app import make_app

    try:
        client = Backend(open_clients(addr, tls_ca))
    except HodeiError as error:
        return fail(error)
    try:
        await make_app(client).run_async()
    finally:
        client.close()
    return OK


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``hodei`` console script."""
    try:
        args = parse_args(argv)
    except HodeiError as error:
        return fail(error)
    import asyncio

    from hodei_api.client import resolve_addr

    if args.handler is None:
        return asyncio.run(console(resolve_addr(getattr(args, "addr", None)), _tls_ca(args)))
    try:
        return asyncio.run(execute(args))
    except KeyboardInterrupt:
        return INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`hodei job logs X | head`): stop quietly like other Unix tools,
        # pointing stdout at /dev/null so the interpreter's final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return BROKEN_PIPE
