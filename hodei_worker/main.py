"""The ``hodei-worker`` command."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import ssl
from collections.abc import Sequence
from typing import Any, NoReturn

from pydantic import ValidationError

from hodei_api.client import find_join_token, tls_context
from hodei_api.printable import PrintableFormatter
from hodei_api.worker_identity import provisioned
from hodei_worker.agent import VERSION, Agent
from hodei_worker.children import wait_by_pidfd
from hodei_worker.config import WorkerSettings, describe, parse_label
from hodei_worker.errors import JobUserError, Refused, StateError
from hodei_worker.jobuser import resolve_job_user, scrub_environment
from hodei_worker.state import StateDir

logger = logging.getLogger("hodei_worker")


class _Parser(argparse.ArgumentParser):
    """argparse, but its errors are one line: what was wrong and where to look."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"hodei-worker: {message} (see hodei-worker --help)\n")


def _label(text: str) -> tuple[str, str]:
    try:
        return parse_label(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="hodei-worker",
        description="Connect to hodeid and run the jobs it sends.",
        epilog="Environment: HODEI_ADDR, HODEI_JOIN_TOKEN (or HODEI_JOIN_TOKEN_FILE; default: the "
        "join.token file in hodeid's data directory), HODEI_STATE_DIR, HODEI_SLOTS, HODEI_LABELS=K=V,K=V, "
        "HODEI_TLS_CA, HODEI_JOB_USER, ... No HODEI_* variable reaches the jobs.",
    )
    parser.add_argument(
        "--server",
        metavar="HOST:PORT[,HOST:PORT...]",
        help="daemon address, or several daemons sharing one database to fail over between "
        "(default: $HODEI_ADDR, else 127.0.0.1:50051)",
    )
    parser.add_argument("--slots", type=int, metavar="N", help="attempts run at once (default 1)")
    parser.add_argument(
        "--label",
        type=_label,
        action="append",
        metavar="K=V",
        help="a label for job selectors; repeat for more",
    )
    parser.add_argument(
        "--job-user",
        metavar="USER",
        help="as root, run jobs as this user (default nobody); otherwise only the worker's own user",
    )
    parser.add_argument("--cpu", type=float, metavar="N", help="CPUs offered (default: all)")
    parser.add_argument("--memory", type=int, metavar="MB", help="memory offered in MiB (default: all)")
    parser.add_argument(
        "--id", metavar="ID", help="worker id (default: kept in the state dir, made once as HOSTNAME-RANDOM)"
    )
    parser.add_argument(
        "--state-dir", metavar="DIR", help="where the worker keeps its id and credential (private, 0700)"
    )
    parser.add_argument("--tls-ca", metavar="PEM", help="connect over TLS, trusting this CA bundle")
    parser.add_argument("--tls-cert", metavar="PEM", help="client certificate, if hodeid verifies workers")
    parser.add_argument("--tls-key", metavar="PEM", help="private key of --tls-cert")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail")
    parser.add_argument("--version", action="version", version=f"hodei-worker {VERSION}")
    return parser


def settings_from_args(args: argparse.Namespace) -> WorkerSettings:
    """The settings: these flags, else the environment, else the defaults."""
    flags: dict[str, Any] = {
        "server": args.server,
        "slots": args.slots,
        "labels": dict(args.label) if args.label else None,
        "cpu": args.cpu,
        "memory_mb": args.memory,
        "worker_id": args.id,
        "state_dir": args.state_dir,
        "tls_ca": args.tls_ca,
        "tls_cert": args.tls_cert,
        "tls_key": args.tls_key,
        "job_user": args.job_user,
    }
    return WorkerSettings(**{name: value for name, value in flags.items() if value is not None})


async def _serve(agent: Agent) -> None:
    wait_by_pidfd()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, agent.stop)
    await agent.run()


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``hodei-worker`` with ``argv`` (default: the command line); return the exit status."""
    args = _parser().parse_args(argv)
    handler = logging.StreamHandler()
    # Its records quote commands that would not start and the daemon's words: data, one line each.
    handler.setFormatter(PrintableFormatter("hodei-worker: %(message)s"))
    logging.basicConfig(handlers=[handler])
    logger.setLevel(logging.DEBUG if args.verbose else logging.INFO)
    try:
        settings = settings_from_args(args)
        # Named when the daemon refuses the token, so the operator knows which place to fix.
        token_source = "HODEI_JOIN_TOKEN"
        if not settings.join_token:
            found = find_join_token()
            settings.join_token, token_source = found.value or "", found.source
    except ValidationError as exc:
        logger.error("%s", describe(exc))
        return 2
    except OSError as exc:
        logger.error("cannot read HODEI_JOIN_TOKEN_FILE %s: %s", exc.filename, exc.strerror)
        return 2
    finally:
        # Read once; from here on the credentials live in the settings, not in what children inherit.
        scrub_environment()
    try:
        job_user = resolve_job_user(settings.job_user)
    except JobUserError as exc:
        logger.error("%s", exc)
        return 2
    if job_user is not None and job_user.uid == 0:
        logger.warning(
            "jobs run as root (--job-user %s): any job may read and change anything here", job_user.name
        )
    elif job_user is not None:
        logger.debug("jobs run as %s (uid %d)", job_user.name, job_user.uid)
    try:
        tls = tls_context(settings.tls_ca, settings.tls_cert, settings.tls_key)
    except (OSError, ssl.SSLError) as exc:
        logger.error("cannot load the TLS files: %s; give --tls-ca/--tls-cert/--tls-key PEM files", exc)
        return 2
    state = StateDir(settings.state_dir)
    try:
        if not settings.worker_id:
            settings.worker_id = state.worker_id()
        # A provisioned worker proves its id with its provider's token and keeps nothing.
        credential = "" if provisioned(settings.join_token) else state.credential(settings.worker_id)
    except StateError as exc:
        logger.error("%s", exc)
        return 2
    try:
        asyncio.run(
            _serve(
                Agent(
                    settings,
                    tls=tls,
                    state=state,
                    credential=credential,
                    job_user=job_user,
                    token_source=token_source,
                )
            )
        )
    except Refused as exc:
        logger.error("%s", exc)
        return 1
    return 0
