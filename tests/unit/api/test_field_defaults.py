"""Field defaults kept per message class: the same values betterproto2 makes, and a list or
map default still made anew for each caller."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime

import betterproto2
import pytest

from hodei_api import v1
from hodei_api.gen.google import protobuf

MESSAGES = [
    cls
    for module in (v1, protobuf)
    for _, cls in inspect.getmembers(module, inspect.isclass)
    if issubclass(cls, betterproto2.Message) and cls.__module__ == module.__name__
]


def test_the_generated_package_keeps_the_defaults() -> None:
    assert getattr(betterproto2.Message._get_field_default, "keeps_defaults", False)


@pytest.mark.parametrize("cls", MESSAGES, ids=lambda cls: cls.__name__)
def test_every_field_default_is_the_one_betterproto2_makes(cls: type[betterproto2.Message]) -> None:
    message = cls()
    for name, make in message._betterproto.default_gen.items():  # type: ignore[arg-type]
        for _ in range(2):  # the first lookup, then the kept value
            got, fresh = message._get_field_default(name), make()
            assert got == fresh and type(got) is type(fresh), f"{cls.__name__}.{name}"
            if isinstance(fresh, list | dict):
                assert got is not message._get_field_default(name), f"{cls.__name__}.{name} is shared"


def test_messages_are_written_and_read_as_before() -> None:
    # Bytes as betterproto2 wrote them before defaults were kept (a SubmitJob answer).
    at = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    job = v1.Job(
        id="j1", spec=v1.JobSpec(command=["true"]), state=v1.JobState.RUNNING, attempt=1, created_at=at
    )
    wire = bytes(v1.SubmitJobResponse(job=job))
    assert wire == bytes.fromhex("0a180a026a311206120474727565180320014a060880fdb9d806")
    assert v1.SubmitJobResponse.parse(wire).job == job
