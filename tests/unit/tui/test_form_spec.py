"""The submit form's fields to a JobSpec, or per-field messages."""

from __future__ import annotations

import pytest

from hodei_api import v1
from hodei_tui.cli.parser import parse_args
from hodei_tui.console.form_spec import FIELDS, build_spec, split_selector


def test_every_field_is_honoured() -> None:
    spec, errors = build_spec(
        {
            "command": "sh -c 'echo $A'", "name": " build ", "env": "A=1 B='two words'",
            "selector": "gpu=true, zone in (a,b)", "cpu": "1.5", "memory": "512", "priority": "-3",
            "timeout": "60", "retries": "2", "cwd": " /srv/build ", "kill_grace": "2.5",
            "retry_backoff": "0.5", "idempotency_key": "nightly-42", "after": "3f0b12, 7c1e 9a",
            "after_any": " 5d8f ",
        }
    )  # fmt: skip
    assert errors == {}
    assert spec == v1.JobSpec(
        name="build", command=["sh", "-c", "echo $A"], env={"A": "1", "B": "two words"},
        selector=["gpu=true", "zone in (a,b)"], resources=v1.Resources(cpu=1.5, memory_mb=512),
        priority=-3, timeout_seconds=60.0, max_retries=2, cwd="/srv/build", kill_grace_seconds=2.5,
        retry_backoff_seconds=0.5, idempotency_key="nightly-42", after=["3f0b12", "7c1e", "9a"],
        after_any=["5d8f"],
    )  # fmt: skip


def test_empty_optional_fields_keep_the_defaults() -> None:
    spec, errors = build_spec({"command": "true"})
    assert errors == {} and spec == v1.JobSpec(name="", command=["true"])


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"command": ""}, "command", "a command is needed"),
        ({"command": "sh -c 'unclosed"}, "command", "cannot split the command into words"),
        ({"command": "x", "env": "NOEQUALS"}, "env", "expected K=V, got 'NOEQUALS'"),
        ({"command": "x", "env": "A=1 A=2"}, "env", "A is given twice"),
        ({"command": "x", "cpu": "two"}, "cpu", "expected a number, got 'two'"),
        ({"command": "x", "memory": "-1"}, "memory", "expected a whole number >= 0"),
        ({"command": "x", "priority": "1.5"}, "priority", "expected a whole number"),
        ({"command": "x", "timeout": "inf"}, "timeout", "expected a finite number >= 0"),
        ({"command": "x", "retries": "-2"}, "retries", "expected a whole number >= 0"),
        ({"command": "''"}, "command", "a command is needed"),
        ({"command": "x", "selector": "gpu=true, zone in ()"}, "selector", "selector 'zone in ()' is not"),
        ({"command": "x", "kill_grace": "-1"}, "kill_grace", "expected a finite number >= 0"),
        ({"command": "x", "retry_backoff": "soon"}, "retry_backoff", "expected a number, got 'soon'"),
    ],
)
def test_mistakes_are_named_by_field(fields: dict[str, str], field: str, message: str) -> None:
    spec, errors = build_spec(fields)
    assert spec is None and list(errors) == [field] and message in errors[field]


def test_every_job_run_flag_that_sets_the_spec_is_a_field() -> None:
    run = vars(parse_args(["job", "run", "--", "x"]))
    common = vars(parse_args(["job", "get", "x"]))  # --addr, --token, ...: not the job's
    steering = {"detach", "cancel_on_interrupt", "wait_timeout"}  # how job run follows it
    flags = run.keys() - common.keys() - steering
    assert flags == set(FIELDS)


def test_selector_commas_inside_parentheses_stay() -> None:
    assert split_selector("a=1,b in (x, y),  !c ,") == ["a=1", "b in (x, y)", "!c"]
