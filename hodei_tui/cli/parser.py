"""The ``hodei`` command line: its commands and flags, with usage errors as one line.

Building the parser imports no command module, no gRPC and no generated messages, so that
``hodei --help`` and a mistyped flag answer at once; each command names its handler, imported
when that command runs.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, NoReturn, TypeAlias, cast

from hodei_tui.cli import completion, values
from hodei_tui.errors import UsageError

if TYPE_CHECKING:
    from hodei_tui.backend import Backend

Handler: TypeAlias = "Callable[[argparse.Namespace, Backend], Awaitable[int]]"

# The JobState names but UNSPECIFIED, spelled out so that parsing needs no generated code;
# tests/unit/cli/test_parser.py holds them to the enum.
STATE_NAMES = ["PENDING", "ASSIGNED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT"]
ENVIRONMENT = (
    "environment: HODEI_ADDR (the daemon, or several comma-separated), HODEI_TLS_CA (its CA "
    "bundle), HODEI_TOKEN (the bearer token) or HODEI_TOKEN_FILE (a file holding it); with "
    "neither, the admin.token hodeid wrote in its default data directory ($HODEI_DATA_DIR, else "
    "/var/lib/hodei as root, else ~/.local/share/hodei)"
)


@dataclass(frozen=True)
class Command:
    """A command's handler, named by its module and function in hodei_tui.cli."""

    module: str
    function: str

    def load(self) -> Handler:
        """Import the handler's module and return the handler."""
        return cast(
            "Handler", getattr(importlib.import_module(f"hodei_tui.cli.{self.module}"), self.function)
        )


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors raise ``UsageError`` (one line, exit 125) instead of
    printing usage and exiting 2, so scripts can tell hodei's failures from a job's codes."""

    def error(self, message: str) -> NoReturn:
        """Refuse the command line, naming the help that shows how to fix it."""
        raise UsageError(f"{message} (see '{self.prog} --help')")


class PrintVersion(argparse.Action):
    """``--version``: print it and exit 0; the package metadata is read only when asked."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[object] | None,
        option_string: str | None = None,
    ) -> None:
        from importlib.metadata import version

        print(f"hodei {version('hodei')}")
        parser.exit(0)


def _common() -> Parser:
    # Given to every parser as a parent so --addr works before and after the subcommand;
    # SUPPRESS keeps a subcommand from overwriting an --addr given before it with None.
    common = Parser(add_help=False)
    common.add_argument(
        "--addr",
        metavar="HOST:PORT[,HOST:PORT...]",
        default=argparse.SUPPRESS,
        help=(
            "hodeid's address, or those of several daemons sharing one database, tried in turn "
            "(default: $HODEI_ADDR, else 127.0.0.1:50051)"
        ),
    )
    common.add_argument(
        "--tls-ca",
        metavar="PEM",
        default=argparse.SUPPRESS,
        help="reach hodeid over TLS, trusting this CA bundle (default: $HODEI_TLS_CA, else plaintext)",
    )
    return common


def _command(
    group: argparse._SubParsersAction[Parser],
    name: str,
    summary: str,
    handler: Command,
    common: Parser,
) -> Parser:
    parser = group.add_parser(name, help=summary, description=summary, epilog=ENVIRONMENT, parents=[common])
    parser.set_defaults(handler=handler, usage_parser=parser)
    return parser


def _output(parser: Parser, form: str) -> None:
    parser.add_argument("-o", "--output", choices=[form], help=f"print {form} for programs")


def add_job_options(parser: Parser) -> None:
    """The options that describe a job (what ``JobSpec`` holds), shared by ``job run`` and
    ``schedule create``: an option added here is taken by both."""
    add = parser.add_argument
    add("--name", metavar="N", help="a name to recognise the job by")
    add(
        "--env",
        metavar="K=V",
        action="append",
        type=values.key_value,
        default=[],
        help="set an environment variable (repeatable)",
    )
    add("--cwd", metavar="DIR", help="directory to run in on the worker")
    add(
        "--selector",
        metavar="EXPR",
        action="append",
        type=values.selector,
        default=[],
        help="worker label expression: k=v, k!=v, k, !k, 'k in (a,b)' (repeatable)",
    )
    add("--cpu", metavar="N", type=values.non_negative_float, help="CPUs the job needs")
    add("--memory", metavar="MB", type=values.megabytes, help="memory the job needs, in MB")
    add("--timeout", metavar="S", type=values.non_negative_float, help="kill after S seconds")
    add("--priority", metavar="P", type=values.priority, help="higher runs first (default 0)")
    add("--retries", metavar="N", type=values.retries, help="retry a failed job N times")
    add(
        "--retry-backoff",
        metavar="S",
        type=values.non_negative_float,
        help="first retry after about S seconds, doubling each time, with jitter (default 0)",
    )
    add(
        "--kill-grace",
        metavar="S",
        type=values.non_negative_float,
        help="on cancel or timeout, SIGKILL S seconds after SIGTERM (default: the worker's, 10)",
    )
    add(
        "--after",
        metavar="ID",
        action="append",
        default=[],
        help="run only once job ID has SUCCEEDED; if it ends otherwise this job is CANCELLED "
        "(repeatable; a unique prefix of the id will do)",
    )
    add(
        "--after-any",
        metavar="ID",
        action="append",
        default=[],
        help="run only once job ID has ended, in any state (repeatable)",
    )
    add("--idempotency-key", metavar="K", help="submit once: a repeat returns the first job")


def _add_run(group: argparse._SubParsersAction[Parser], common: Parser) -> None:
    run_parser = _command(group, "run", "submit a job and follow it", Command("run", "run_command"), common)
    run_parser.usage = "hodei job run [options] -- CMD [ARG...]"
    run_parser.epilog = (
        "exit status: the job's own code; 128+N if it died of signal N; 124 if it timed out; "
        "130 if it was cancelled, or on Ctrl-C, which leaves the job running (unless "
        "--cancel-on-interrupt) and prints how to cancel it; "
        f"125 if hodei itself failed. {ENVIRONMENT}"
    )
    add_job_options(run_parser)
    add = run_parser.add_argument
    add("--detach", action="store_true", help="print the job id and exit at once")
    add(
        "--cancel-on-interrupt",
        action="store_true",
        help="on Ctrl-C cancel the job instead of leaving it running",
    )
    add(
        "--wait-timeout",
        metavar="S",
        type=values.non_negative_float,
        help="cancel the job and exit 125 if no worker takes it within S seconds",
    )
    add("command", nargs=argparse.REMAINDER, metavar="-- CMD [ARG...]", help="what to run")


def _add_jobs(group: argparse._SubParsersAction[Parser], common: Parser) -> None:
    _add_run(group, common)

    get = _command(group, "get", "show a job and its attempts", Command("jobs", "get_command"), common)
    get.add_argument("id", metavar="ID")
    _output(get, "json")

    listing = _command(group, "list", "list jobs, newest first", Command("jobs", "list_command"), common)
    listing.add_argument(
        "--state",
        action="append",
        type=str.upper,
        choices=STATE_NAMES,
        default=[],
        help="only jobs in this state (repeatable)",
    )
    how_many = listing.add_mutually_exclusive_group()
    how_many.add_argument(
        "--limit",
        metavar="N",
        type=values.count,
        default=0,
        help="at most N jobs (default: the daemon's page, 100); says on stderr when there are more",
    )
    how_many.add_argument("--all", action="store_true", help="every job, fetched page by page")
    listing.add_argument(
        "-o",
        "--output",
        choices=["json", "jsonl", "wide"],
        help="print json (one array) or jsonl (one job per line, written as each page arrives); "
        "wide: the table with the CPU time (user + system) and peak memory of each job's attempts",
    )

    why = _command(
        group,
        "explain",
        "why a job went where it went, or why it waits",
        Command("explain", "explain_command"),
        common,
    )
    why.add_argument("id", metavar="ID")
    why.add_argument("-v", "--verbose", action="store_true", help="every worker's and provider's verdict")
    _output(why, "json")

    log = _command(group, "logs", "print a job's output", Command("logs", "logs_command"), common)
    log.add_argument("id", metavar="ID")
    log.add_argument("-f", "--follow", action="store_true", help="keep printing until it ends")
    log.add_argument(
        "--after", metavar="SEQ", type=values.sequence, default=0, help="only lines after sequence number SEQ"
    )
    _output(log, "jsonl")

    cancel = _command(group, "cancel", "cancel a job", Command("jobs", "cancel_command"), common)
    cancel.add_argument("id", metavar="ID")
    cancel.add_argument("--reason", default="", help="why, recorded with the job")
    _output(cancel, "json")

    again = _command(
        group,
        "retry",
        "queue a finished job again as its next attempt",
        Command("jobs", "retry_command"),
        common,
    )
    again.add_argument("id", metavar="ID")
    _output(again, "json")


def _add_workers(group: argparse._SubParsersAction[Parser], common: Parser) -> None:
    listing = _command(
        group, "list", "list the connected workers", Command("workers", "list_command"), common
    )
    listing.add_argument(
        "--all",
        action="store_true",
        help="also the workers whose stream went away recently (LIVE no; their jobs wait for them "
        "until the lost grace)",
    )
    _output(listing, "json")

    drain = _command(group, "drain", "stop giving a worker jobs", Command("workers", "drain_command"), common)
    drain.add_argument("id", metavar="ID")
    drain.add_argument("--stay", action="store_true", help="stay connected once idle")
    _output(drain, "json")


def _add_providers(group: argparse._SubParsersAction[Parser], common: Parser) -> None:
    listing = _command(
        group,
        "list",
        "list the providers that create workers on demand",
        Command("providers", "list_command"),
        common,
    )
    _output(listing, "json")


def _add_daemons(group: argparse._SubParsersAction[Parser], common: Parser) -> None:
    listing = _command(
        group,
        "list",
        "list the hodeid daemons sharing the database: lease, lead, workers; * marks the one that answered",
        Command("daemons", "list_command"),
        common,
    )
    listing.add_argument(
        "-o",
        "--output",
        choices=["json", "jsonl"],
        help="print json (one array) or jsonl (one daemon per line)",
    )


def _add_schedules(group: argparse._SubParsersAction[Parser], common: Parser) -> None:
    create = _command(
        group,
        "create",
        "submit a job on a timetable: a cron expression or a fixed interval",
        Command("schedules", "create_command"),
        common,
    )
    create.usage = (
        "hodei schedule create NAME (--cron EXPR [--timezone TZ] | --every DURATION) "
        "[--overlap skip|allow|cancel-previous] [--catch-up none|one] [job options] -- CMD [ARG...]"
    )
    create.add_argument(
        "schedule_name", metavar="NAME", help="the schedule's name, which each run's job takes"
    )
    when = create.add_mutually_exclusive_group(required=True)
    when.add_argument(
        "--cron",
        metavar="EXPR",
        help="five fields: minute hour day-of-month month day-of-week, e.g. '30 2 * * 1-5'",
    )
    when.add_argument(
        "--every", metavar="DURATION", type=values.duration, help="an interval: 30s, 5m, 1h30m, 1d"
    )
    create.add_argument(
        "--timezone",
        metavar="TZ",
        default="",
        help="the IANA time zone the cron expression is read in, e.g. Europe/Madrid (default UTC)",
    )
    create.add_argument(
        "--overlap",
        choices=["skip", "allow", "cancel-previous"],
        default="skip",
        help="while the previous run's job has not ended: skip the run (default), run anyway, "
        "or cancel the previous one and run",
    )
    create.add_argument(
        "--catch-up",
        choices=["none", "one"],
        default="one",
        help="runs planned while no daemon ran: fire one for them all (default), or none",
    )
    add_job_options(create)
    # Not a REMAINDER, which would take the options after NAME too; what follows "--" when
    # options come after NAME is handed over by parse_args.
    create.add_argument("command", nargs="*", metavar="-- CMD [ARG...]", help="what to run")
    create.set_defaults(command_after_dashes=True)
    _output(create, "json")

    listing = _command(
        group,
        "list",
        "list the schedules: timetable, next run (local time), last run, paused",
        Command("schedules", "list_command"),
        common,
    )
    _output(listing, "json")

    for name, summary, function in (
        ("get", "show a schedule", "get_command"),
        ("pause", "stop firing a schedule's runs until it is resumed", "pause_command"),
        ("resume", "fire a paused schedule's runs again, from the next planned time", "resume_command"),
        ("delete", "delete a schedule; the jobs of its runs are kept", "delete_command"),
        ("run", "submit one run of a schedule now, whatever its timetable", "run_command"),
    ):
        parser = _command(group, name, summary, Command("schedules", function), common)
        parser.add_argument("schedule_name", metavar="NAME")
        _output(parser, "json")


def build_parser() -> Parser:
    """The whole ``hodei`` command tree."""
    common = _common()
    top = Parser(
        prog="hodei",
        description="Run shell commands as jobs on hodeid's workers, and inspect them; "
        "with no command, open the console.",
        epilog=ENVIRONMENT,
        parents=[common],
    )
    top.add_argument("--version", action=PrintVersion, nargs=0, help="print hodei's version and exit")
    top.set_defaults(handler=None, usage_parser=top)
    groups = top.add_subparsers(
        title="commands", metavar="{tui,job,schedule,worker,provider,daemon,completion}"
    )
    console = "open the console (also what hodei does with no command)"
    tui = groups.add_parser(
        "tui",
        help=console,
        description=f"{console}: jobs, workers, decision traces and logs, live; '?' lists its keys.",
        epilog=ENVIRONMENT,
        parents=[common],
    )
    tui.set_defaults(usage_parser=tui)
    for name, summary, add in (
        ("job", "run and inspect jobs", _add_jobs),
        ("schedule", "run jobs on a timetable (cron or interval)", _add_schedules),
        ("worker", "inspect and drain workers", _add_workers),
        ("provider", "inspect the providers that create workers", _add_providers),
        ("daemon", "inspect the hodeid daemons sharing one database", _add_daemons),
    ):
        parser = groups.add_parser(
            name, help=summary, description=summary, epilog=ENVIRONMENT, parents=[common]
        )
        parser.set_defaults(usage_parser=parser)
        add(parser.add_subparsers(title="commands", required=True), common)
    _add_completion(groups, top)
    return top


def _add_completion(group: argparse._SubParsersAction[Parser], top: Parser) -> None:
    summary = "print a shell completion script for every command and flag"
    parser = group.add_parser(
        "completion",
        help=summary,
        description=f"{summary}; install it as the README says, for example "
        "'hodei completion bash > ~/.local/share/bash-completion/completions/hodei'",
    )
    parser.add_argument("shell", choices=completion.SHELLS, action=completion.PrintScript, root=top)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse a command line; any mistake raises ``UsageError`` naming the help to read."""
    args, extras = build_parser().parse_known_args(argv)
    if getattr(args, "command_after_dashes", False) and extras[:1] == ["--"] and not args.command:
        args.command, extras = extras, []
    if extras:
        # Reported by the innermost command so the hint points at the help that lists its flags.
        args.usage_parser.error(f"unrecognized arguments: {' '.join(extras)}")
    return args
