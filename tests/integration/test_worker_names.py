"""A worker id or label key outside the safe characters is refused at Hello, before anything
is logged, stored or listed: it cannot forge daemon log lines or drive operators' terminals."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import asyncpg
import pytest
from grpclib.const import Status
from grpclib.exceptions import GRPCError

from hodei_api import v1
from hodei_api.worker_identity import new_credential
from hodeid.config import SchedulerSettings
from hodeid.control.daemon import Daemon
from tests.support.auth import channel_for

FORGED = "w1\n2026-01-01 00:00:00,000 INFO    hodeid.control.sessions: worker root connected"


@pytest.fixture
async def daemon(pool: asyncpg.Pool) -> AsyncIterator[Daemon]:
    daemon = Daemon(pool, SchedulerSettings(tick_seconds=0.05))
    yield daemon
    await daemon.stop()


@pytest.mark.parametrize(
    ("hello", "phrase"),
    [
        (
            v1.Hello(worker_id=FORGED, slots=1),
            "worker id 'w1\\n2026-01-01 00:00:00,000 INFO    hodeid.control.sessions: ' is not valid; "
            "use letters, digits and . _ : @ -, starting with a letter or digit (e.g. build-1)",
        ),
        (
            v1.Hello(worker_id="[/]", slots=1),
            "worker id '[/]' is not valid; use letters, digits and . _ : @ -, starting with a letter "
            "or digit (e.g. build-1)",
        ),
        (
            v1.Hello(worker_id="w1", slots=1, labels={"gpu\x1b[2J\x1b]0;owned\x07": "true"}),
            "label key 'gpu\\x1b[2J\\x1b]0;owned\\x07' is not valid; use letters, digits and . _ / - "
            "(e.g. gpu or zone/rack)",
        ),
    ],
)
async def test_an_unsafe_worker_id_or_label_key_is_refused_at_hello(
    daemon: Daemon, hello: v1.Hello, phrase: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, "hodeid")
    async with channel_for(daemon, role=None) as channel:
        stream = v1.WorkerServiceStub(channel).connect([v1.WorkerMessage(hello=hello)])
        with pytest.raises(GRPCError) as raised:
            await anext(aiter(stream))
    assert raised.value.status is Status.INVALID_ARGUMENT
    assert raised.value.message == phrase
    assert await daemon.workers(include_gone=True) == []
    assert "hodeid.control.sessions" not in caplog.text


async def test_label_values_stay_free_form(daemon: Daemon) -> None:
    labels = {"note": "[/] \x1b[2J\nanything"}
    hello = v1.Hello(worker_id="w1", slots=1, labels=labels, credential=new_credential())
    async with channel_for(daemon, role=None) as channel:
        stream = v1.WorkerServiceStub(channel).connect([v1.WorkerMessage(hello=hello)])
        assert (await anext(aiter(stream))).welcome is not None
    [worker] = await daemon.workers(include_gone=True)
    assert worker.labels == {"note": "[/] \x1b[2J\nanything"}
