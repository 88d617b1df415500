"""``job run``'s notes while its job waits: best effort, never the cause of a failed run."""

from __future__ import annotations

import pytest

from hodei_api import v1
from hodei_tui.backend import connect
from hodei_tui.cli.explain import wait_notes
from tests.support.scripted_daemon import CREATED, Script, serving


@pytest.mark.parametrize(("state", "gave_up"), [(v1.JobState.PENDING, True), (v1.JobState.RUNNING, False)])
async def test_a_daemon_that_cannot_explain_costs_the_notes_not_the_run(
    state: v1.JobState, gave_up: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    # The scripted daemon serves no SchedulerService: ExplainJob is UNIMPLEMENTED there.
    script = Script(jobs={"job-1": v1.Job(id="job-1", state=state, created_at=CREATED)})
    async with serving(script) as port, connect(f"127.0.0.1:{port}") as backend:
        assert await wait_notes(backend, "job-1", give_up_after=0.05) is gave_up
    assert capsys.readouterr().err == ""
