"""What ``job run`` says between attempts: how the last one ended and what comes next."""

from __future__ import annotations

import pytest

from hodei_api import v1
from hodei_tui.backend import connect
from hodei_tui.cli.endings import new_retry_notes, waiting_to_retry
from hodei_tui.cli.explain import wait_notes
from tests.support.scripted_daemon import CREATED, Script, serving

A, S = v1.AttemptOutcome, v1.JobState


def attempt(number: int, outcome: v1.AttemptOutcome, **fields: object) -> v1.Attempt:
    return v1.Attempt(number=number, worker_id="w-1", outcome=outcome, **fields)  # type: ignore[arg-type]


def job(state: v1.JobState, attempts: list[v1.Attempt], reason: str = "", retries: int = 2) -> v1.Job:
    return v1.Job(
        id="job-1",
        spec=v1.JobSpec(command=["x"], max_retries=retries),
        state=state,
        attempt=max((a.number for a in attempts), default=0),
        attempts=attempts,
        reason=reason,
        created_at=CREATED,
    )


@pytest.mark.parametrize(
    ("seen", "announced", "notes"),
    [
        # Waiting out the backoff: the delay is the daemon's.
        (
            job(S.PENDING, [attempt(1, A.FAILED, exit_code=5)], "exited with code 5; retry 1 of 2 in 1.0s"),
            0,
            ["attempt 1 failed (exit 5); attempt 2 of 3 in 1.0 s"],
        ),
        # Already said.
        (job(S.PENDING, [attempt(1, A.FAILED, exit_code=5)], "retry 1 of 2 in 1.0s"), 1, []),
        # Seen only once the next attempt ran: said anyway, without the delay that passed.
        (
            job(S.RUNNING, [attempt(1, A.FAILED, signal=9), attempt(2, A.ACTIVE)]),
            0,
            ["attempt 1 failed (killed by signal 9); attempt 2 of 3"],
        ),
        (
            job(
                S.RUNNING,
                [
                    attempt(1, A.TIMED_OUT, reason="timed out after 2 s"),
                    attempt(2, A.LOST, reason="worker w-1 lost"),
                    attempt(3, A.ACTIVE),
                ],
            ),
            0,
            [
                "attempt 1 timed out (timed out after 2 s); attempt 2 of 3",
                "attempt 2 was lost (worker w-1 lost); attempt 3 of 3",
            ],
        ),
        (
            job(S.PENDING, [attempt(1, A.NOT_ACKNOWLEDGED)], retries=0),
            0,
            ["attempt 1 was not acknowledged by worker w-1; placing the job again"],
        ),
        # The job's own end is job run's final line, not a retry note.
        (job(S.FAILED, [attempt(1, A.FAILED, exit_code=5), attempt(2, A.FAILED, exit_code=5)]), 1, []),
        (job(S.RUNNING, [attempt(1, A.ACTIVE)]), 0, []),
    ],
)
def test_retry_notes(seen: v1.Job, announced: int, notes: list[str]) -> None:
    assert new_retry_notes(seen, announced)[0] == notes


def test_waiting_to_retry() -> None:
    backing_off = job(S.PENDING, [attempt(1, A.FAILED)], "exited with code 5; retry 1 of 2 in 1.0s")
    assert waiting_to_retry(backing_off)
    assert not waiting_to_retry(job(S.PENDING, []))
    assert not waiting_to_retry(job(S.RUNNING, [attempt(1, A.FAILED)], "retry 1 of 2 in 1.0s"))


async def test_job_run_says_how_the_attempt_ended_instead_of_why_the_job_waits(
    capsys: pytest.CaptureFixture[str],
) -> None:
    waiting = job(S.PENDING, [attempt(1, A.FAILED, exit_code=5)], "exited with code 5; retry 1 of 2 in 1.0s")
    placed = v1.Decision(job_id="job-1", outcome=v1.PlacementOutcome.PLACED, summary="PLACED on w-1")
    script = Script(
        jobs={"job-1": waiting},
        explained={"job-1": v1.ExplainJobResponse(state=S.PENDING, decisions=[placed])},
    )
    async with serving(script) as port, connect(f"127.0.0.1:{port}") as backend:
        assert await wait_notes(backend, "job-1", give_up_after=0.05) is True
    assert capsys.readouterr().err == "hodei: job job-1: attempt 1 failed (exit 5); attempt 2 of 3 in 1.0 s\n"
