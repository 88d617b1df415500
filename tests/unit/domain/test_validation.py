"""validate(JobSpec): every field is honoured or refused with a message saying what to fix."""

from __future__ import annotations

import math
from typing import Any

import pytest

from hodei_api.gen.hodei.v1 import JobSpec, Resources
from hodeid.domain.validation import (
    MAX_ARG_BYTES,
    MAX_ARGS,
    MAX_ENV,
    MAX_NAME,
    MAX_PRIORITY,
    MAX_RETRIES,
    SpecLimits,
    validate,
    validate_worker,
)
from hodeid.errors import HodeiError, InvalidRequest

ENV_RULE = "is not valid; use [A-Za-z_][A-Za-z0-9_]*"
NON_NEGATIVE = "must be a non-negative number, got"
PRIORITY_RANGE = "priority must be between -1000 and 1000"


def _spec(**fields: Any) -> JobSpec:
    fields.setdefault("command", ["echo", "hi"])
    return JobSpec(**fields)


# field values (on top of command ["echo", "hi"]) -> key phrase of the message
BAD = [
    ("no-command", {"command": []}, "the job has no command; give one, e.g. hodei job run -- echo hi"),
    ("empty-program", {"command": [""]}, "the job has no command"),
    ("empty-program-with-args", {"command": ["", "hi"]}, "the job has no command"),
    ("too-many-args", {"command": ["x"] * (MAX_ARGS + 1)}, "the command has 4097 arguments; at most 4096"),
    (
        "too-many-bytes",
        {"command": ["echo", "x" * MAX_ARG_BYTES]},
        "the command is 131076 bytes long; at most 131072",
    ),
    (
        "bytes-not-characters",
        {"command": ["é" * (MAX_ARG_BYTES // 2 + 1)]},
        "the command is 131074 bytes long; at most 131072",
    ),
    ("nul-in-program", {"command": ["ec\0ho"]}, "the command contains a NUL byte"),
    ("nul-in-arg", {"command": ["echo", "a\0b"]}, "NUL byte, which no program can receive"),
    (
        "too-many-env",
        {"env": {f"V{i}": "1" for i in range(MAX_ENV + 1)}},
        "the job sets 1025 environment variables; at most 1024",
    ),
    ("env-empty-name", {"env": {"": "1"}}, f"environment variable name '' {ENV_RULE}"),
    ("env-leading-digit", {"env": {"1FOO": "1"}}, f"environment variable name '1FOO' {ENV_RULE}"),
    ("env-dash", {"env": {"FOO-BAR": "1"}}, f"environment variable name 'FOO-BAR' {ENV_RULE}"),
    ("env-equals", {"env": {"FOO=BAR": "1"}}, f"environment variable name 'FOO=BAR' {ENV_RULE}"),
    ("env-space", {"env": {"FOO BAR": "1"}}, f"environment variable name 'FOO BAR' {ENV_RULE}"),
    ("env-dot", {"env": {"foo.bar": "1"}}, f"environment variable name 'foo.bar' {ENV_RULE}"),
    ("env-non-ascii", {"env": {"ÉTÉ": "1"}}, f"environment variable name 'ÉTÉ' {ENV_RULE}"),
    ("env-nul-name", {"env": {"FOO\0": "1"}}, f"environment variable name 'FOO\\x00' {ENV_RULE}"),
    ("env-leading-newline", {"env": {"\nFOO": "1"}}, f"environment variable name '\\nFOO' {ENV_RULE}"),
    ("env-trailing-newline", {"env": {"FOO\n": "1"}}, f"environment variable name 'FOO\\n' {ENV_RULE}"),
    ("env-nul-value", {"env": {"FOO": "a\0b"}}, "environment variable FOO contains a NUL byte"),
    ("cwd-nul", {"cwd": "/tmp\0x"}, "the working directory contains a NUL byte"),
    # PostgreSQL text cannot hold NUL: without a check here the insert fails with a
    # StoreError ("try again") instead of telling the client what to fix.
    ("name-nul", {"name": "build\0"}, "NUL byte"),
    ("idempotency-key-nul", {"idempotency_key": "k\0"}, "NUL byte"),
    ("name-too-long", {"name": "n" * (MAX_NAME + 1)}, "the job name is 201 characters; at most 200"),
    (
        "selector-empty-set",
        {"selector": ["gpu=true", "zone in ()"]},
        "selector 'zone in ()' is not valid; use k=v, k!=v, k, !k, 'k in (a,b)' or 'k notin (a,b)'",
    ),
    ("selector-operator", {"selector": ["mem>=4"]}, "selector 'mem>=4' is not valid; use k=v"),
    ("selector-empty", {"selector": [""]}, "selector '' is not valid"),
    ("cpu-negative", {"resources": Resources(cpu=-1.0)}, f"cpu {NON_NEGATIVE} -1"),
    ("cpu-nan", {"resources": Resources(cpu=math.nan)}, f"cpu {NON_NEGATIVE} nan"),
    ("cpu-inf", {"resources": Resources(cpu=math.inf)}, f"cpu {NON_NEGATIVE} inf"),
    ("cpu-minus-inf", {"resources": Resources(cpu=-math.inf)}, f"cpu {NON_NEGATIVE} -inf"),
    ("memory-negative", {"resources": Resources(cpu=1.0, memory_mb=-1)}, f"memory {NON_NEGATIVE}"),
    ("timeout-negative", {"timeout_seconds": -0.5}, f"timeout {NON_NEGATIVE} -0.5"),
    ("timeout-nan", {"timeout_seconds": math.nan}, f"timeout {NON_NEGATIVE} nan"),
    ("timeout-inf", {"timeout_seconds": math.inf}, f"timeout {NON_NEGATIVE} inf"),
    ("backoff-negative", {"retry_backoff_seconds": -1.0}, f"retry backoff {NON_NEGATIVE} -1"),
    ("backoff-nan", {"retry_backoff_seconds": math.nan}, f"retry backoff {NON_NEGATIVE} nan"),
    ("backoff-inf", {"retry_backoff_seconds": math.inf}, f"retry backoff {NON_NEGATIVE} inf"),
    ("kill-grace-negative", {"kill_grace_seconds": -1.0}, f"kill grace {NON_NEGATIVE} -1"),
    ("kill-grace-nan", {"kill_grace_seconds": math.nan}, f"kill grace {NON_NEGATIVE} nan"),
    ("kill-grace-inf", {"kill_grace_seconds": math.inf}, f"kill grace {NON_NEGATIVE} inf"),
    ("retries-negative", {"max_retries": -1}, f"retries {NON_NEGATIVE}"),
    ("retries-over-100", {"max_retries": MAX_RETRIES + 1}, "retries must be at most 100, got 101"),
    ("retries-far-over", {"max_retries": 2**31 - 1}, "retries must be at most 100, got"),
    (
        "priority-too-high",
        {"priority": MAX_PRIORITY + 1},
        "priority must be between -1000 and 1000, got 1001",
    ),
    (
        "priority-too-low",
        {"priority": -MAX_PRIORITY - 1},
        "priority must be between -1000 and 1000, got -1001",
    ),
    ("after-empty", {"after": [""]}, "--after '' is not a job id; give a job's id or a unique prefix"),
    ("after-any-too-long", {"after_any": ["a" * 37]}, f"--after-any {'a' * 37!r} is not a job id"),
    ("after-control", {"after": ["3f0b\x1b[2J"]}, "is not a job id"),
    (
        "too-many-dependencies",
        {"after": ["3f0b"] * 600, "after_any": ["7c1e"] * 401},
        "the job names 1001 dependencies (after, after_any); at most 1000",
    ),
]


@pytest.mark.parametrize(("fields", "phrase"), [pytest.param(f, p, id=i) for i, f, p in BAD])
def test_bad_spec_is_refused_with_a_reason(fields: dict[str, Any], phrase: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        validate(_spec(**fields))
    assert phrase in str(info.value)
    assert info.value.message == str(info.value)
    assert isinstance(info.value, HodeiError)


# field values -> the name the validated spec carries
GOOD = [
    ("default-name-from-command", {"command": ["echo", "hi"]}, "echo hi"),
    ("default-name-one-word", {"command": ["true"]}, "true"),
    ("default-name-cut-at-60", {"command": ["echo", "x" * 100]}, ("echo " + "x" * 100)[:60]),
    ("given-name-kept", {"name": "nightly build"}, "nightly build"),
    ("name-at-limit", {"name": "n" * MAX_NAME}, "n" * MAX_NAME),
    ("args-at-limit", {"command": ["x"] * MAX_ARGS}, " ".join(["x"] * MAX_ARGS)[:60]),
    ("bytes-at-limit", {"command": ["x" * MAX_ARG_BYTES]}, "x" * 60),
    ("empty-later-arg", {"command": ["printf", ""]}, "printf "),
    ("env-at-limit", {"env": {f"V{i}": "1" for i in range(MAX_ENV)}}, "echo hi"),
    ("env-names", {"env": {"_": "", "a1": "x", "PATH": "/bin", "_X_9": "y"}}, "echo hi"),
    ("env-value-anything", {"env": {"V": "a b=c\n\t€"}}, "echo hi"),
    ("selectors", {"selector": ["gpu=true", "!spot", "zone in (a,b)", "os"]}, "echo hi"),
    ("no-resources", {"resources": None}, "echo hi"),
    ("zero-resources", {"resources": Resources()}, "echo hi"),
    ("fractional-cpu", {"resources": Resources(cpu=0.25, memory_mb=512)}, "echo hi"),
    ("zero-timeout-means-none", {"timeout_seconds": 0.0}, "echo hi"),
    ("retries-zero", {"max_retries": 0}, "echo hi"),
    ("retries-at-limit", {"max_retries": MAX_RETRIES}, "echo hi"),
    ("priority-top", {"priority": MAX_PRIORITY}, "echo hi"),
    ("priority-bottom", {"priority": -MAX_PRIORITY}, "echo hi"),
    ("big-but-finite", {"timeout_seconds": 1e9, "retry_backoff_seconds": 1e9}, "echo hi"),
]


@pytest.mark.parametrize(("fields", "name"), [pytest.param(f, n, id=i) for i, f, n in GOOD])
def test_good_spec_is_accepted(fields: dict[str, Any], name: str) -> None:
    spec = _spec(**fields)
    got = validate(spec)
    assert got.name == name
    assert got.command == spec.command


def test_every_field_is_kept() -> None:
    spec = JobSpec(
        name="build",
        command=["make", "-j4"],
        env={"CC": "clang"},
        cwd="/src",
        selector=["os=linux", "!spot"],
        resources=Resources(cpu=2.0, memory_mb=2048),
        priority=-7,
        timeout_seconds=600.0,
        max_retries=3,
        retry_backoff_seconds=2.5,
        idempotency_key="build-42",
        kill_grace_seconds=5.0,
        after=["3f0b12"],
        after_any=["7c1e", "5d8f2f6e-0000-4000-8000-000000000000"],
    )
    assert validate(spec).to_dict() == spec.to_dict()


def test_default_name_does_not_change_the_input() -> None:
    spec = _spec()
    assert validate(spec).name == "echo hi"
    assert spec.name == ""


LIMITED = [
    ("env-bytes", {"env": {"A": "x" * 128 * 1024}}, "the environment is 131073 bytes; at most 131072"),
    ("selector-terms", {"selector": [f"k{i}=v" for i in range(65)]}, "the selector has 65 terms; at most 64"),
    ("selector-term-bytes", {"selector": ["k=" + "v" * 1023]}, "is 1025 bytes; at most 1024"),
]


@pytest.mark.parametrize(("fields", "phrase"), [pytest.param(f, p, id=i) for i, f, p in LIMITED])
def test_refusals_name_the_configurable_limit(fields: dict[str, Any], phrase: str) -> None:
    with pytest.raises(InvalidRequest, match=r"\(limits\.max_\w+\)$") as info:
        validate(_spec(**fields))
    assert phrase in info.value.message


def test_limits_are_the_ones_given() -> None:
    tight = SpecLimits(max_command_args=2, max_command_bytes=10)
    validate(_spec(command=["echo", "hi"]), tight)
    with pytest.raises(InvalidRequest, match=r"3 arguments; at most 2 \(limits\.max_command_args\)"):
        validate(_spec(command=["echo", "a", "b"]), tight)
    with pytest.raises(InvalidRequest, match=r"at most 10 \(limits\.max_command_bytes\)"):
        validate(_spec(command=["echo", "0123456789"]), tight)


@pytest.mark.parametrize(
    "worker_id",
    ["w-1", "build-1", "gpu.host.example", "local-1a2b3c4d", "user@host:2", "W_9", "0"],
)
def test_a_worker_id_of_safe_characters_is_accepted(worker_id: str) -> None:
    validate_worker(worker_id, {"gpu": "true", "zone/rack": "b-7", "k8s.io_arch": "amd64"})


@pytest.mark.parametrize(
    ("worker_id", "labels", "message"),
    [
        ("", {}, "worker id '' is not valid; use letters, digits and . _ : @ -, starting with"),
        ("w\n2026-01-01 INFO forged", {}, "worker id 'w\\n2026-01-01 INFO forged' is not valid"),
        ("\x1b[2J", {}, "worker id '\\x1b[2J' is not valid"),
        ("[/]", {}, "worker id '[/]' is not valid"),
        ("[bold red]x", {}, "is not valid"),
        ("w 1", {}, "worker id 'w 1' is not valid"),
        ("-w", {}, "starting with a letter or digit"),
        (".", {}, "worker id '.' is not valid"),
        ("w\u202e1", {}, "worker id 'w\\u202e1' is not valid"),
        ("w-1", {"gpu\x1b]0;t\x07": "x"}, "label key 'gpu\\x1b]0;t\\x07' is not valid; use letters, digits"),
        ("w-1", {"": "x"}, "label key '' is not valid"),
        ("w-1", {"zone=a": "x"}, "label key 'zone=a' is not valid"),
        ("w-1", {"a b": "x", "c\n": "y"}, "label key 'a b' is not valid; use letters, digits and . _ / -"),
        ("w\n", {"a b": "x"}, "worker id 'w\\n' is not valid; use letters, digits and . _ : @ -, starting"),
    ],
)
def test_a_worker_id_or_label_key_outside_the_safe_set_is_refused(
    worker_id: str, labels: dict[str, str], message: str
) -> None:
    with pytest.raises(InvalidRequest) as raised:
        validate_worker(worker_id, labels)
    assert message in str(raised.value)
    assert "\n" not in str(raised.value) and "\x1b" not in str(raised.value)


@pytest.mark.parametrize("value", ["\x1b[2J", "a\nb", "[/]", "any thing at all"])
def test_label_values_stay_free_form(value: str) -> None:
    validate_worker("w-1", {"note": value})
