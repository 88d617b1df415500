"""Every JobSpec field goes from ``hodei job run``'s arguments through the daemon and the store to
the worker's RunJob unchanged (DESIGN rule 8). The fields come from the generated message, so a
field added to the contract and forgotten in the CLI, the validation, the store or the rows
fails here."""

from __future__ import annotations

import argparse
import dataclasses
import uuid
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hodei_api import v1
from hodei_tui.cli.parser import build_parser
from hodei_tui.cli.spec import build_spec
from tests.support.scripted_worker import ScriptedWorker, submit, wait_state

LABELS = {"zone": "a", "gpu": "no"}
SELECTORS = ["zone=a", "zone!=b", "gpu", "!tpu", "zone in (a,b)", "gpu notin (yes)"]

# Fields whose flag is not ``--`` and the field's name; ``command`` follows ``--``.
FLAGS = {
    "resources.memory_mb": "--memory",
    "timeout_seconds": "--timeout",
    "max_retries": "--retries",
    "retry_backoff_seconds": "--retry-backoff",
    "kill_grace_seconds": "--kill-grace",
}

_TEXT = st.text(st.characters(min_codepoint=1, exclude_categories=["Cs"]), max_size=20)
_SECONDS = st.floats(min_value=0, max_value=1e6, allow_nan=False)
# Values the daemon accepts and the scripted worker fits; other fields get one by their type.
STRATEGIES: dict[str, st.SearchStrategy[Any]] = {
    "name": _TEXT.filter(bool),  # an empty name is replaced by the command
    "command": st.lists(_TEXT, min_size=1, max_size=4).filter(lambda c: bool(c[0])),
    "env": st.dictionaries(st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True), _TEXT, max_size=4),
    "selector": st.lists(st.sampled_from(SELECTORS), max_size=3),
    "resources.cpu": st.floats(min_value=0, max_value=1e6, allow_nan=False),
    "resources.memory_mb": st.integers(0, 2**40),
    "priority": st.integers(-1000, 1000),
    "max_retries": st.integers(0, 100),
    "timeout_seconds": _SECONDS,
    "retry_backoff_seconds": _SECONDS,
    "kill_grace_seconds": _SECONDS,
    # A job that depends on others reaches a worker only once they ended, as whole ids:
    # tests/integration/test_job_dependencies.py follows those fields from submit to run.
    "after": st.just([]),
    "after_any": st.just([]),
}
BY_TYPE: dict[str, st.SearchStrategy[Any]] = {
    "string": _TEXT,
    "double": _SECONDS,
    "int32": st.integers(0, 1000),
    "int64": st.integers(0, 2**40),
    "bool": st.booleans(),
}


def _meta(field: dataclasses.Field[Any]) -> Any:
    return field.metadata["betterproto"]


def _leaves(message: type, prefix: str = "") -> list[tuple[str, dataclasses.Field[Any]]]:
    """The message's fields, those of a nested message flattened as ``outer.inner``."""
    found = []
    for field in dataclasses.fields(message):
        meta = _meta(field)
        if meta.proto_type == "message":
            found += _leaves(_message_class(message, field), f"{prefix}{field.name}.")
        else:
            found.append((prefix + field.name, field))
    return found


def _message_class(message: type, field: dataclasses.Field[Any]) -> type:
    cls = getattr(v1, str(field.type).split(" | ")[0])
    assert isinstance(cls, type), f"{message.__name__}.{field.name}: no message class {field.type}"
    return cls


def _strategy(path: str, field: dataclasses.Field[Any]) -> st.SearchStrategy[Any]:
    if path in STRATEGIES:
        return STRATEGIES[path]
    meta = _meta(field)
    assert meta.proto_type in BY_TYPE and meta.map_meta is None, f"JobSpec.{path}: give it a strategy"
    one = BY_TYPE[meta.proto_type]
    return st.lists(one, max_size=3) if meta.repeated else one


LEAVES = _leaves(v1.JobSpec)
VALUES = st.fixed_dictionaries({path: _strategy(path, field) for path, field in LEAVES})


def _flag(path: str) -> str:
    return FLAGS.get(path, "--" + path.rpartition(".")[2].replace("_", "-"))


def _arguments(values: dict[str, Any]) -> list[str]:
    """``job run``'s arguments setting every field to its value; ``--flag=value`` so that a
    value starting with ``-`` is not read as a flag."""
    args = ["job", "run"]
    for path, value in values.items():
        if path == "command":
            continue
        if isinstance(value, dict):
            args += [f"{_flag(path)}={k}={v}" for k, v in value.items()]
        elif isinstance(value, list):
            args += [f"{_flag(path)}={v}" for v in value]
        else:
            args.append(f"{_flag(path)}={value!r}" if isinstance(value, float) else f"{_flag(path)}={value}")
    return [*args, "--", *values["command"]]


def _subcommand(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and name in action.choices:
            found: argparse.ArgumentParser = action.choices[name]
            return found
    raise AssertionError(f"no subcommand {name}")


def test_every_jobspec_field_has_a_job_run_flag() -> None:
    run = _subcommand(_subcommand(build_parser(), "job"), "run")
    flags = {option for action in run._actions for option in action.option_strings}
    missing = [path for path, _ in LEAVES if path != "command" and _flag(path) not in flags]
    assert not missing, f"JobSpec fields no job run flag sets: {missing}"


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(values=VALUES)
async def test_every_jobspec_field_reaches_the_worker_as_the_cli_was_given_it(
    channel: object, values: dict[str, Any]
) -> None:
    if values.get("idempotency_key"):
        # A key seen in an earlier example would return that example's job.
        values["idempotency_key"] = f"{uuid.uuid4()}{values['idempotency_key']}"
    spec = build_spec(build_parser().parse_args(_arguments(values)))
    for path, value in values.items():
        outer, _, inner = path.rpartition(".")
        holder = getattr(spec, outer) if outer else spec
        assert holder is not None and getattr(holder, inner) == value, f"job run did not set {path}"

    worker = ScriptedWorker(v1.WorkerServiceStub(channel), f"w-{uuid.uuid4().hex[:8]}", slots=1, **LABELS)  # type: ignore[arg-type]
    worker.hello.resources = v1.Resources(cpu=1e7, memory_mb=2**50)
    await worker.next("welcome")
    try:
        job = await submit(channel, *spec.command, **{
            f.name: getattr(spec, f.name) for f in dataclasses.fields(spec) if f.name != "command"
        })  # fmt: skip
        run = (await worker.next("run_job")).run_job
        assert run is not None and run.job_id == job.id
        try:
            assert run.spec == spec
        finally:
            # Ended, so that no later example's worker is given it again.
            ended = v1.Finished(job_id=job.id, attempt=run.attempt, outcome=v1.AttemptOutcome.SUCCEEDED)
            worker.send(finished=ended)
            await wait_state(channel, job.id, v1.JobState.SUCCEEDED)
    finally:
        worker.close()
