"""Parsing ``hodei`` command lines: what reaches the JobSpec, and what is refused in one line."""

from __future__ import annotations

import argparse
import inspect
import shlex
from collections.abc import Iterator

import pytest

from hodei_api import v1
from hodei_tui.cli.parser import STATE_NAMES, Command, build_parser, parse_args
from hodei_tui.cli.spec import build_spec
from hodei_tui.errors import UsageError
from hodei_tui.main import main


def words(command_line: str) -> list[str]:
    """A command line as a shell would split it, so the tables read as typed."""
    return shlex.split(command_line)


@pytest.mark.parametrize(
    ("command_line", "expected"),
    [
        ("-- echo hi", v1.JobSpec(command=["echo", "hi"])),
        # Without -- the command is everything from the first word that is not a flag.
        ("ls -la", v1.JobSpec(command=["ls", "-la"])),
        # Only the first -- separates; later ones belong to the command.
        ("-- sh -- -x", v1.JobSpec(command=["sh", "--", "-x"])),
        # Flags after the command are the command's, even ones hodei also has.
        ("-- tool --name x --addr y", v1.JobSpec(command=["tool", "--name", "x", "--addr", "y"])),
        (
            "--name build --env A=1 --env B=x=y --env EMPTY= --cwd /srv --selector gpu=true"
            " --selector 'zone in (a,b)' --cpu 1.5 --memory 512 --timeout 30 --priority 7 --retries 2"
            " --retry-backoff 2.5 --kill-grace 3 --idempotency-key k1 -- make all",
            v1.JobSpec(
                name="build",
                command=["make", "all"],
                env={"A": "1", "B": "x=y", "EMPTY": ""},
                cwd="/srv",
                selector=["gpu=true", "zone in (a,b)"],
                resources=v1.Resources(cpu=1.5, memory_mb=512),
                priority=7,
                timeout_seconds=30.0,
                max_retries=2,
                retry_backoff_seconds=2.5,
                kill_grace_seconds=3.0,
                idempotency_key="k1",
            ),
        ),
        # One resource given still sends resources; the other stays 0, "no requirement".
        ("--memory 64 -- x", v1.JobSpec(command=["x"], resources=v1.Resources(memory_mb=64))),
        ("--cpu 0.25 -- x", v1.JobSpec(command=["x"], resources=v1.Resources(cpu=0.25))),
        ("--priority -3 -- x", v1.JobSpec(command=["x"], priority=-3)),
        (
            "--after 3f0b --after-any 7c1e --after 9a2d -- x",
            v1.JobSpec(command=["x"], after=["3f0b", "9a2d"], after_any=["7c1e"]),
        ),
    ],
)
def test_job_run_flags_all_reach_the_spec(command_line: str, expected: v1.JobSpec) -> None:
    assert build_spec(parse_args(["job", "run", *words(command_line)])) == expected


def test_detach_is_a_flag_not_part_of_the_spec() -> None:
    args = parse_args(words("job run --detach --cancel-on-interrupt -- x"))
    assert args.detach and args.cancel_on_interrupt
    assert build_spec(args) == v1.JobSpec(command=["x"])


@pytest.mark.parametrize(
    ("command_line", "message"),
    [
        ("job run", "job run needs a command after --, e.g. hodei job run -- echo hi"),
        ("job run --", "job run needs a command after --"),
        ("job run -- ''", "job run needs a command after --"),
        ("job run --env A=1 --env A=2 -- x", "--env A is given twice; give each variable once"),
    ],
)
def test_job_run_spec_refusals(command_line: str, message: str) -> None:
    with pytest.raises(UsageError) as raised:
        build_spec(parse_args(words(command_line)))
    assert str(raised.value).startswith(message)


@pytest.mark.parametrize(
    ("command_line", "message"),
    [
        ("job run --bogus -- x", "unrecognized arguments: --bogus (see 'hodei job run --help')"),
        ("job run --env NOVALUE -- x", "argument --env: expected K=V, got 'NOVALUE'"),
        ("job run --env =v -- x", "argument --env: expected K=V, got '=v'"),
        ("job run --cpu -1 -- x", "argument --cpu: expected a finite number >= 0, got '-1'"),
        ("job run --cpu nan -- x", "argument --cpu: expected a finite number >= 0"),
        ("job run --cpu lots -- x", "argument --cpu: expected a number, got 'lots'"),
        ("job run --timeout inf -- x", "argument --timeout: expected a finite number >= 0"),
        ("job run --memory 1.5 -- x", "argument --memory: expected a whole number, got '1.5'"),
        ("job run --memory -1 -- x", "argument --memory: expected a whole number >= 0"),
        ("job run --retries -1 -- x", "argument --retries: expected a whole number >= 0"),
        ("job run --retries 9999999999 -- x", "argument --retries: expected a whole number <="),
        ("job run --priority 2147483648 -- x", "argument --priority: expected a whole number <="),
        ("job run --selector ' ' -- x", "argument --selector: expected a label expression"),
        (
            "job run --selector 'zone in (a' -- x",
            "argument --selector: selector 'zone in (a' is not valid; use k=v, k!=v, k, !k,",
        ),
        ("job run --name", "argument --name: expected one argument"),
        (
            "job",
            "the following arguments are required: {run,get,list,explain,logs,cancel,retry} "
            "(see 'hodei job --help')",
        ),
        ("worker", "the following arguments are required: {list,drain}"),
        ("job get", "the following arguments are required: ID (see 'hodei job get --help')"),
        ("job get a b", "unrecognized arguments: b (see 'hodei job get --help')"),
        ("job list --state done", "argument --state: invalid choice: 'DONE'"),
        ("job list --limit 0", "argument --limit: expected a whole number >= 1, got '0'"),
        ("job logs x -o json", "argument -o/--output: invalid choice: 'json'"),
        ("job logs x --after -2", "argument --after: expected a whole number >= 0"),
        ("job get x -o yaml", "argument -o/--output: invalid choice: 'yaml'"),
        ("nope", "argument {tui,job,schedule,worker,provider,daemon,completion}: invalid choice: 'nope'"),
    ],
)
def test_usage_errors_are_one_line_naming_the_help(command_line: str, message: str) -> None:
    with pytest.raises(UsageError) as raised:
        parse_args(words(command_line))
    assert str(raised.value).startswith(message)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(
    ("command_line", "addr"),
    [
        ("job list", None),
        ("--addr h:1 job list", "h:1"),
        ("job --addr h:2 list", "h:2"),
        ("job list --addr h:3", "h:3"),
        # The innermost wins, as the one written last.
        ("--addr h:1 job list --addr h:3", "h:3"),
        ("worker drain w --addr h:4", "h:4"),
        ("job run --addr h:5 -- x --addr not-ours", "h:5"),
    ],
)
def test_addr_is_accepted_before_and_after_the_subcommand(command_line: str, addr: str | None) -> None:
    assert getattr(parse_args(words(command_line)), "addr", None) == addr


@pytest.mark.parametrize(
    ("command_line", "check"),
    [
        (
            "job list --state running --state FAILED --limit 5 -o json",
            {"state": ["RUNNING", "FAILED"], "limit": 5, "output": "json"},
        ),
        ("job list", {"state": [], "limit": 0, "output": None}),
        ("job logs j -f --after 9 -o jsonl", {"id": "j", "follow": True, "after": 9, "output": "jsonl"}),
        ("job logs j", {"id": "j", "follow": False, "after": 0, "output": None}),
        ("job cancel j --reason oops", {"id": "j", "reason": "oops", "output": None}),
        ("worker drain w --stay", {"id": "w", "stay": True}),
        ("worker list -o json", {"output": "json", "all": False}),
        ("worker list --all", {"all": True}),
    ],
)
def test_other_commands_parse(command_line: str, check: dict[str, object]) -> None:
    args = vars(parse_args(words(command_line)))
    assert {key: args[key] for key in check} == check


@pytest.mark.parametrize("argv", [[], ["tui"], ["--addr", "127.0.0.1:1", "tui"]])
def test_no_command_or_tui_means_the_console(argv: list[str]) -> None:
    # Opening it for real, in a terminal, is tests/tui/test_console_script.py's job.
    args = parse_args(argv)
    assert args.handler is None


@pytest.mark.parametrize(
    "argv", [["--help"], ["job", "--help"], ["job", "run", "--help"], ["worker", "drain", "-h"]]
)
def test_help_exits_0(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 0
    assert "usage: hodei" in capsys.readouterr().out


def test_main_reports_a_usage_error_as_one_line_and_125(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["job", "run", "--bogus", "--", "x"]) == 125
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "hodei: unrecognized arguments: --bogus (see 'hodei job run --help')\n"


def test_main_reports_a_missing_command_as_one_line_and_125(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["job", "run", "--cpu", "1"]) == 125
    assert (
        capsys.readouterr().err == "hodei: job run needs a command after --, e.g. hodei job run -- echo hi\n"
    )


def test_main_refuses_a_bad_address(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["job", "list", "--addr", "nowhere"]) == 125
    err = capsys.readouterr().err
    assert err.startswith("hodei: daemon address 'nowhere' is not HOST:PORT")
    assert err.count("\n") == 1


def test_state_names_are_the_job_states() -> None:
    assert STATE_NAMES == [state.name for state in v1.JobState if state != v1.JobState.UNSPECIFIED]


def _commands(parser: argparse.ArgumentParser) -> Iterator[tuple[str, Command]]:
    """Every command under ``parser`` with the handler it names, however deep."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _commands(sub)
    handler = parser.get_default("handler")
    if isinstance(handler, Command):
        yield parser.prog, handler


def test_every_command_names_a_handler_that_loads() -> None:
    # Handlers are imported only when their command runs, so a misspelt one would show no
    # earlier than that.
    commands = dict(_commands(build_parser()))
    assert len(commands) == 18
    for prog, command in commands.items():
        assert inspect.iscoroutinefunction(command.load()), prog
