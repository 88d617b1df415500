"""Names, ids, labels and messages are data: whatever a job's submitter, a worker or the daemon
put in them, the CLI's text output holds no control character, no bidi override and no line
break of theirs, and JSON output keeps their exact value. A job's own output is the exception:
``job run`` and ``job logs`` write its bytes as they are, like ``cat``."""

from __future__ import annotations

import json

import pytest

from hodei_api import v1
from hodei_api.printable import printable
from hodei_tui.cli.exit_codes import HODEI_FAILED
from hodei_tui.cli.parser import parse_args
from hodei_tui.main import execute
from tests.support.scripted_daemon import CREATED, LogScript, Script, chunk, line, serving

# Markup, clear screen, a window title ended by BEL, a forged table row, CR, a C1 CSI and a
# right-to-left override.
HOSTILE = "[/]\x1b[2J\x1b]0;owned\x07\nFORGED row\r\x9b6n\u202eevil"
JOB_ID = "job-1"


def hostile_job(state: v1.JobState = v1.JobState.FAILED) -> v1.Job:
    spec = v1.JobSpec(
        name=HOSTILE, command=["sh", "-c", HOSTILE], env={"NOTE": HOSTILE}, cwd=HOSTILE, selector=[HOSTILE]
    )
    attempt = v1.Attempt(number=1, worker_id=HOSTILE, outcome=v1.AttemptOutcome.LOST, reason=HOSTILE)
    return v1.Job(
        id=JOB_ID, spec=spec, state=state, worker_id=HOSTILE, reason=HOSTILE, created_at=CREATED,
        attempt=1, attempts=[attempt],
    )  # fmt: skip


def hostile_script(state: v1.JobState = v1.JobState.FAILED) -> Script:
    worker = v1.WorkerInfo(id=HOSTILE, hostname=HOSTILE, labels={HOSTILE: HOSTILE}, live=True, slots_total=1)
    provider = v1.ProviderInfo(name=HOSTILE, kind=HOSTILE, labels={"zone": HOSTILE}, last_error=HOSTILE)
    verdict = v1.Verdict(
        target=HOSTILE, kind="worker", reason=v1.PlacementReason.STREAM_DOWN, message=HOSTILE
    )
    decision = v1.Decision(
        job_id=JOB_ID, outcome=v1.PlacementOutcome.WAITING, strategy=HOSTILE, summary=HOSTILE,
        verdicts=[verdict], histogram={HOSTILE: 1}, decided_at=CREATED,
    )  # fmt: skip
    return Script(
        jobs={JOB_ID: hostile_job(state)},
        workers=[worker],
        providers=[provider],
        explained={JOB_ID: v1.ExplainJobResponse(state=state, decisions=[decision, decision])},
    )


def assert_shown_as_data(output: str) -> None:
    """Only printable characters and hodei's own line breaks; no line the data started."""
    assert [ch for ch in output if ch != "\n" and printable(ch) != ch] == []
    assert not [row for row in output.splitlines() if row.startswith("FORGED")]


async def hodei(script: Script, *argv: str) -> int:
    async with serving(script) as port:
        return await execute(parse_args(["--addr", f"127.0.0.1:{port}", *argv]))


@pytest.mark.parametrize(
    ("argv", "rows"),
    [
        (["job", "list"], 2),  # the header and the one job
        (["job", "get", JOB_ID], None),
        (["job", "explain", JOB_ID, "-v"], None),
        (["worker", "list"], 2),
        (["worker", "list", "--all"], 2),
        (["worker", "drain", HOSTILE], 1),
        (["provider", "list"], 2),
    ],
)
async def test_text_output_shows_every_string_as_data(
    argv: list[str], rows: int | None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await hodei(hostile_script(), *argv) == 0
    out, err = capsys.readouterr()
    assert_shown_as_data(out + err)
    assert "[/]\\x1b[2J\\x1b]0;owned\\x07\\nFORGED row\\r\\x9b6n\\u202eevil" in out
    if rows is not None:
        assert len(out.splitlines()) == rows


@pytest.mark.parametrize(
    ("argv", "path"),
    [
        (["job", "list", "-o", "json"], (0, "name")),
        (["job", "get", JOB_ID, "-o", "json"], ("attempts", 0, "reason")),
        (["job", "explain", JOB_ID, "-o", "json"], ("decisions", 0, "verdicts", 0, "message")),
        (["worker", "list", "-o", "json"], (0, "labels", HOSTILE)),
        (["provider", "list", "-o", "json"], (0, "last_error")),
    ],
)
async def test_json_output_keeps_the_exact_value_and_escapes_it(
    argv: list[str], path: tuple[int | str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    assert await hodei(hostile_script(), *argv) == 0
    out = capsys.readouterr().out
    assert_shown_as_data(out)
    value = json.loads(out)
    for step in path:
        value = value[step]
    assert value == HOSTILE


async def test_the_daemons_refusal_quoting_the_request_is_one_printable_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The daemon's message repeats the id asked for.
    assert await hodei(hostile_script(), "job", "get", HOSTILE) == HODEI_FAILED
    out, err = capsys.readouterr()
    assert out == ""
    assert_shown_as_data(err)
    assert len(err.splitlines()) == 1


async def test_job_run_notes_are_data_and_the_jobs_output_is_its_bytes(
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    # The job waits (its log stream stays open), so job run says why, gives up and cancels it.
    script = hostile_script(v1.JobState.PENDING)
    script.logs = [LogScript([chunk(line(1, v1.LogStream.STDOUT, b"\x1b[31mred\x1b[0m\n"))], then="hang")]
    assert await hodei(script, "job", "run", "--wait-timeout", "0.2", "--", "x") == HODEI_FAILED
    out, err = capsysbinary.readouterr()
    assert out == b"\x1b[31mred\x1b[0m\n"
    assert_shown_as_data(err.decode())
    assert b"is waiting: [/]\\x1b[2J" in err


async def test_job_logs_writes_the_jobs_bytes_and_hodeis_notes_as_data(
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    script = hostile_script(v1.JobState.FAILED)
    notes = chunk(
        line(1, v1.LogStream.STDERR, b"\x07\x1b[2J\n"),
        line(2, v1.LogStream.SYSTEM, f"cannot start {HOSTILE}".encode()),
        line(3, v1.LogStream.STDOUT, "\u202e\x9b\n".encode()),
    )
    script.logs = [LogScript([notes]), LogScript([notes])]
    assert await hodei(script, "job", "logs", JOB_ID) == 0
    out, err = capsysbinary.readouterr()
    assert out == "\u202e\x9b\n".encode()
    assert err.startswith(b"\x07\x1b[2J\nhodei: cannot start [/]\\x1b[2J")
    assert_shown_as_data(err.removeprefix(b"\x07\x1b[2J\n").decode())
    assert await hodei(script, "job", "logs", JOB_ID, "-o", "jsonl") == 0
    out = capsysbinary.readouterr().out
    assert_shown_as_data(out.decode())
    assert [json.loads(row)["line"] for row in out.splitlines()] == [
        "\x07\x1b[2J",
        f"cannot start {HOSTILE}",
        "\u202e\x9b",
    ]
