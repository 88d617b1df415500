"""What a daemon does with each log notification it hears: another writer's lines wake the
job's followers; its own, and a malformed payload, wake nobody."""

from __future__ import annotations

import pytest

from hodeid.control.loghub import LogHub, Wake
from hodeid.control.logwakes import LogWakes


async def never(*_: object) -> None:
    raise AssertionError("not listening in these tests")


@pytest.mark.parametrize(
    ("payload", "woken"),
    [
        ("job:7:other", 7),
        # Lines this daemon's LogStore wrote: its hub hands them to the followers.
        ("job:7:mine", None),
        ("other-job:7:other", None),
        ("job:seven:other", None),
        ("job:7", None),
    ],
)
async def test_a_notification_wakes_the_jobs_followers_unless_this_daemon_wrote_the_lines(
    payload: str, woken: int | None
) -> None:
    hub = LogHub(10_000, 10_000)
    sub = hub.subscribe("job")
    LogWakes(hub, never, writer="mine").heard(payload)
    if woken is None:
        assert sub.queue.empty()
    else:
        wake = await sub.get()
        assert isinstance(wake, Wake) and wake.stored == woken
