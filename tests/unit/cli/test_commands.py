"""Each command against a real gRPC server on loopback: what it sends, prints and exits with."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hodei_api import v1
from hodei_tui.cli.parser import parse_args
from hodei_tui.errors import UsageError
from hodei_tui.main import execute
from tests.support.scripted_daemon import CREATED, LogScript, Script, chunk, line, serving

OUT, ERR, SYSTEM = v1.LogStream.STDOUT, v1.LogStream.STDERR, v1.LogStream.SYSTEM


async def hodei(script: Script, *argv: str) -> int:
    """Run one ``hodei`` command in this process against the scripted daemon."""
    async with serving(script) as port:
        return await execute(parse_args(["--addr", f"127.0.0.1:{port}", *argv]))


def finished(state: v1.JobState, **fields: Any) -> v1.Job:
    return v1.Job(id="job-1", spec=v1.JobSpec(command=["x"]), state=state, created_at=CREATED, **fields)


def run_script(job: v1.Job) -> Script:
    """A daemon on which the next job writes to both streams and ends as ``job``."""
    chunks = [
        chunk(line(1, OUT, b"out 1\n"), line(2, ERR, b"err 1\n")),
        chunk(line(3, SYSTEM, b"attempt 1 lost; retrying"), line(4, OUT, b"out 2\n")),
        chunk(line(5, ERR, b"\x00binary\xff\n"), final_state=job.state),
    ]
    return Script(jobs={"job-1": job}, logs=[LogScript(chunks)])


@pytest.mark.parametrize(
    ("job", "code", "last_err"),
    [
        (finished(v1.JobState.SUCCEEDED, exit_code=0), 0, b""),
        (finished(v1.JobState.FAILED, exit_code=3), 3, b""),
        (
            finished(v1.JobState.FAILED, signal=9, reason="killed by signal 9 (SIGKILL)"),
            137,
            b"hodei: job job-1 ended FAILED: killed by signal 9 (SIGKILL)\n",
        ),
        (
            finished(v1.JobState.TIMED_OUT, signal=15, reason="timed out after 3 s"),
            124,
            b"hodei: job job-1 ended TIMED_OUT: timed out after 3 s\n",
        ),
        (
            finished(v1.JobState.CANCELLED, reason="enough (cancelled by ci)"),
            130,
            b"hodei: job job-1 ended CANCELLED: enough (cancelled by ci)\n",
        ),
        (
            finished(v1.JobState.FAILED, reason="no worker fits"),
            125,
            b"hodei: job job-1 failed: no worker fits\n",
        ),
    ],
)
async def test_job_run_keeps_streams_apart_and_exits_like_the_job(
    job: v1.Job, code: int, last_err: bytes, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    script = run_script(job)
    assert await hodei(script, "job", "run", "--name", "n", "--", "sh", "-c", "work") == code
    out, err = capsysbinary.readouterr()
    assert out == b"out 1\nout 2\n"
    assert err == b"err 1\nhodei: attempt 1 lost; retrying\n\x00binary\xff\n" + last_err
    assert script.submitted == [v1.JobSpec(name="n", command=["sh", "-c", "work"])]
    assert script.log_requests == [v1.StreamLogsRequest(job_id="job-1", after_seq=0, follow=True)]


async def test_job_run_tells_of_every_retried_attempt_even_those_that_ended_between_two_looks(
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    failed = [
        v1.Attempt(number=n, worker_id="w-1", outcome=v1.AttemptOutcome.FAILED, exit_code=5)
        for n in (1, 2, 3)
    ]
    job = finished(v1.JobState.FAILED, exit_code=5, attempt=3, attempts=failed)
    assert job.spec is not None
    job.spec.max_retries = 2
    # The log ends at once: the notes never had a look while the job waited between attempts.
    assert await hodei(run_script(job), "job", "run", "--retries", "2", "--", "x") == 5
    err = capsysbinary.readouterr().err.decode(errors="replace")
    assert "hodei: job job-1: attempt 1 failed (exit 5); attempt 2 of 3\n" in err
    assert "hodei: job job-1: attempt 2 failed (exit 5); attempt 3 of 3\n" in err
    assert "attempt 3 failed" not in err, "the job's own end is the exit code"


async def test_job_run_detach_prints_only_the_id(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    script = Script()
    assert await hodei(script, "job", "run", "--detach", "--priority", "5", "--", "true") == 0
    assert capsysbinary.readouterr() == (b"job-1\n", b"")
    assert script.submitted == [v1.JobSpec(command=["true"], priority=5)]
    assert script.log_requests == []


async def test_job_run_with_a_used_idempotency_key_says_so(
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    script = run_script(finished(v1.JobState.SUCCEEDED, exit_code=0))
    assert await hodei(script, "job", "run", "--idempotency-key", "k", "--", "x") == 0
    err = capsysbinary.readouterr().err
    assert err.startswith(b"hodei: idempotency key 'k' was already used by job job-1; following that job\n")


async def test_job_get_json(capsys: pytest.CaptureFixture[str]) -> None:
    job = finished(v1.JobState.SUCCEEDED, exit_code=0, attempt=1, worker_id="w-1")
    job.attempts = [v1.Attempt(number=1, worker_id="w-1", outcome=v1.AttemptOutcome.SUCCEEDED, exit_code=0)]
    assert await hodei(Script(jobs={"job-1": job}), "job", "get", "job-1", "-o", "json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["id"] == "job-1"
    assert data["state"] == "SUCCEEDED"
    assert data["exit_code"] == 0
    assert data["created_at"] == "2025-01-02T03:04:05Z"
    assert data["attempts"][0]["outcome"] == "SUCCEEDED"


async def test_job_get_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert await hodei(Script(jobs={"job-1": finished(v1.JobState.RUNNING)}), "job", "get", "job-1") == 0
    out = capsys.readouterr().out
    assert "id:        job-1\n" in out
    assert "state:     RUNNING\n" in out


async def test_unknown_job_is_the_servers_message_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert await hodei(Script(), "job", "get", "nope") == 125
    assert capsys.readouterr() == ("", "hodei: job nope not found\n")


async def test_job_list(capsys: pytest.CaptureFixture[str]) -> None:
    script = Script(jobs={"job-1": finished(v1.JobState.FAILED, exit_code=2)})
    assert await hodei(script, "job", "list", "--state", "failed", "--limit", "10", "-o", "json") == 0
    assert [job["id"] for job in json.loads(capsys.readouterr().out)] == ["job-1"]
    assert script.list_requests == [v1.ListJobsRequest(states=[v1.JobState.FAILED], limit=10)]
    assert await hodei(script, "job", "list") == 0
    assert capsys.readouterr().out.splitlines()[0].split() == [
        "ID",
        "NAME",
        "STATE",
        "ATTEMPT",
        "WORKER",
        "EXIT",
        "AGE",
    ]


def _many(n: int) -> Script:
    return Script(
        jobs={
            f"job-{i}": v1.Job(id=f"job-{i}", state=v1.JobState.SUCCEEDED, created_at=CREATED, exit_code=0)
            for i in range(n)
        }
    )


async def test_job_list_says_how_many_of_how_many_it_shows(capsys: pytest.CaptureFixture[str]) -> None:
    script = _many(1141)
    assert await hodei(script, "job", "list") == 0
    out, err = capsys.readouterr()
    assert len(out.splitlines()) == 101  # the header and the daemon's page
    assert err == "hodei: showing the newest 100 of 1,141 jobs: --limit N or --all\n"
    assert await hodei(script, "job", "list", "--limit", "120", "-o", "json") == 0
    out, err = capsys.readouterr()
    assert len(json.loads(out)) == 120
    assert err == "hodei: showing the newest 120 of 1,141 jobs: --limit N or --all\n"
    # The total came with the page: no request to look past it.
    assert [r.limit for r in script.list_requests] == [0, 120]


async def test_job_list_says_there_are_more_when_an_older_daemon_does_not_count(
    capsys: pytest.CaptureFixture[str],
) -> None:
    script = _many(250)
    script.counts_jobs = False
    assert await hodei(script, "job", "list") == 0
    _, err = capsys.readouterr()
    assert err == "hodei: showing the newest 100 jobs; there are more: --limit N or --all\n"


@pytest.mark.parametrize(("n", "limit"), [(100, []), (40, ["--limit", "40"]), (3, [])])
async def test_job_list_says_nothing_when_nothing_is_left_out(
    n: int, limit: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert await hodei(_many(n), "job", "list", *limit) == 0
    out, err = capsys.readouterr()
    assert (len(out.splitlines()), err) == (n + 1, "")


@pytest.mark.parametrize("form", ["json", "jsonl"])
async def test_job_list_all_pages_through_everything(form: str, capsys: pytest.CaptureFixture[str]) -> None:
    script = _many(250)
    assert await hodei(script, "job", "list", "--all", "-o", form) == 0
    out, err = capsys.readouterr()
    jobs = json.loads(out) if form == "json" else [json.loads(line) for line in out.splitlines()]
    assert [job["id"] for job in jobs] == [f"job-{i}" for i in reversed(range(250))]
    assert err == ""
    assert [request.page_token for request in script.list_requests] == ["", "100", "200"]


async def test_job_list_all_and_limit_exclude_each_other() -> None:
    with pytest.raises(UsageError, match="not allowed with argument"):
        parse_args(["job", "list", "--all", "--limit", "3"])


async def test_job_logs_raw_and_jsonl(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    both = chunk(line(3, OUT, b"three\n"), line(4, ERR, b"four\n"))
    script = Script(
        jobs={"job-1": finished(v1.JobState.RUNNING)}, logs=[LogScript([both]), LogScript([both])]
    )
    assert await hodei(script, "job", "logs", "job-1", "--after", "2") == 0
    assert capsysbinary.readouterr() == (b"three\n", b"four\n")
    assert await hodei(script, "job", "logs", "job-1", "-o", "jsonl") == 0
    out = capsysbinary.readouterr().out
    assert [json.loads(text) for text in out.splitlines()] == [
        {"seq": 3, "stream": "stdout", "line": "three", "ts": "2025-01-02T03:04:05Z", "attempt": 1},
        {"seq": 4, "stream": "stderr", "line": "four", "ts": "2025-01-02T03:04:05Z", "attempt": 1},
    ]
    assert script.log_requests == [
        v1.StreamLogsRequest(job_id="job-1", after_seq=2, follow=False),
        v1.StreamLogsRequest(job_id="job-1", after_seq=0, follow=False),
    ]


async def test_job_logs_follow_ends_with_the_job(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    chunks = [
        chunk(line(1, OUT, b"a\n")),
        chunk(line(2, OUT, b"b\n"), final_state=v1.JobState.FAILED),
    ]
    script = Script(jobs={"job-1": finished(v1.JobState.RUNNING)}, logs=[LogScript(chunks)])
    # The job's failure is not hodei's: following it succeeded.
    assert await hodei(script, "job", "logs", "-f", "job-1") == 0
    assert capsysbinary.readouterr().out == b"a\nb\n"
    assert script.log_requests == [v1.StreamLogsRequest(job_id="job-1", after_seq=0, follow=True)]


async def test_job_cancel(capsys: pytest.CaptureFixture[str]) -> None:
    script = Script(jobs={"job-1": finished(v1.JobState.RUNNING)})
    assert await hodei(script, "job", "cancel", "job-1", "--reason", "wrong input") == 0
    assert capsys.readouterr().out == "CANCELLED\n"
    assert script.cancel_requests == [v1.CancelJobRequest(id="job-1", reason="wrong input")]
    assert await hodei(script, "job", "cancel", "job-1", "-o", "json") == 0
    assert json.loads(capsys.readouterr().out)["state"] == "CANCELLED"


async def test_job_retry(capsys: pytest.CaptureFixture[str]) -> None:
    script = Script(jobs={"job-1": finished(v1.JobState.FAILED, attempt=2)})
    assert await hodei(script, "job", "retry", "job-1") == 0
    assert capsys.readouterr().out == "PENDING (queued again as attempt 3; earlier attempts and log kept)\n"
    assert script.retry_requests == [v1.RetryJobRequest(id="job-1")]
    assert await hodei(script, "job", "retry", "job-1", "-o", "json") == 125
    assert capsys.readouterr().err == "hodei: job job-1 is PENDING, not finished\n"


async def test_worker_list_and_drain(capsys: pytest.CaptureFixture[str]) -> None:
    worker = v1.WorkerInfo(id="w-1", live=True, slots_total=2, labels={"gpu": "true"})
    script = Script(workers=[worker])
    assert await hodei(script, "worker", "list", "-o", "json") == 0
    [data] = json.loads(capsys.readouterr().out)
    assert (data["id"], data["live"], data["labels"], data["resources_total"]) == (
        "w-1",
        True,
        {"gpu": "true"},
        None,
    )
    assert await hodei(script, "worker", "drain", "w-1", "--stay") == 0
    assert (
        capsys.readouterr().out
        == "worker w-1 is draining; it takes no new jobs and stays connected when idle\n"
    )
    assert script.drain_requests == [v1.DrainWorkerRequest(id="w-1", stay=True)]
    assert await hodei(script, "worker", "list") == 0
    assert capsys.readouterr().out.splitlines()[1].split()[-1] == "yes"


async def test_daemon_list_table_json_and_jsonl(capsys: pytest.CaptureFixture[str]) -> None:
    a = v1.DaemonInfo(id="a" * 32, address="10.0.0.1:50051", version="0.4.0", live=True, leader=True,
                      workers=["w-1"])  # fmt: skip
    b = v1.DaemonInfo(id="b" * 32, address="10.0.0.2:50051", version="0.4.0", live=True)
    script = Script(daemons=v1.ListDaemonsResponse(daemons=[a, b], answered_by=b.id))
    assert await hodei(script, "daemon", "list") == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines[1:3]] == ["aaaaaaaa", "bbbbbbbb*"]
    assert lines[-1] == "* answered this call"
    assert await hodei(script, "daemon", "list", "-o", "json") == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(d["id"], d["leader"], d["workers"], d["answered"]) for d in listed] == [
        (a.id, True, ["w-1"], False),
        (b.id, False, [], True),
    ]
    assert await hodei(script, "daemon", "list", "-o", "jsonl") == 0
    assert [json.loads(row) for row in capsys.readouterr().out.splitlines()] == listed
