"""The installed ``hodei`` console script as a process: exit codes, stderr lines, Ctrl-C."""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
from pathlib import Path

import pytest

from hodei_api import v1
from tests.support.scripted_daemon import CREATED, LogScript, Script, chunk, line, serving

HODEI = str(Path(sys.executable).parent / "hodei")


async def hodei(*argv: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        HODEI, *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.mark.parametrize(
    ("argv", "err"),
    [
        (
            ["job", "list"],
            "hodei: cannot reach hodeid at {addr} (connection refused); start it with 'hodeid' "
            "or point --addr/HODEI_ADDR at a running daemon\n",
        ),
        (["job", "run", "--", "true"], "hodei: cannot reach hodeid at {addr} (connection refused)"),
        (["job", "logs", "-f", "j"], "hodei: cannot reach hodeid at {addr} (connection refused)"),
        (
            ["job", "run", "--bogus", "--", "x"],
            "hodei: unrecognized arguments: --bogus (see 'hodei job run --help')\n",
        ),
        (["job", "run", "--"], "hodei: job run needs a command after --, e.g. hodei job run -- echo hi\n"),
    ],
)
async def test_hodei_failures_are_one_stderr_line_and_125(argv: list[str], err: str) -> None:
    addr = f"127.0.0.1:{closed_port()}"
    process = await hodei("--addr", addr, *argv)
    out, raw_err = await process.communicate()
    assert process.returncode == 125
    assert out == b""
    assert raw_err.decode().startswith(err.format(addr=addr))
    assert raw_err.decode().count("\n") == 1


async def test_job_run_passes_bytes_through_and_exits_with_the_jobs_code() -> None:
    job = v1.Job(id="job-1", state=v1.JobState.FAILED, exit_code=7, created_at=CREATED)
    chunks = [
        chunk(line(1, v1.LogStream.STDOUT, b"caf\xc3\xa9 \xff\n"), line(2, v1.LogStream.STDERR, b"e\n")),
        chunk(final_state=v1.JobState.FAILED),
    ]
    async with serving(Script(jobs={"job-1": job}, logs=[LogScript(chunks)])) as port:
        process = await hodei("job", "run", "--addr", f"127.0.0.1:{port}", "--", "x")
        out, err = await process.communicate()
    assert (process.returncode, out, err) == (7, b"caf\xc3\xa9 \xff\n", b"e\n")


async def interrupted(*flags: str) -> tuple[Script, int | None, bytes, bytes]:
    """``hodei job run [flags] -- sleep 1000`` on a running job, Ctrl-C'd after its first line:
    the script, the exit status, stdout and stderr."""
    job = v1.Job(id="job-1", state=v1.JobState.RUNNING, created_at=CREATED)
    script = Script(
        jobs={"job-1": job},
        logs=[LogScript([chunk(line(1, v1.LogStream.STDOUT, b"hi\n"))], then="hang")],
    )
    async with serving(script) as port:
        process = await hodei("job", "run", "--addr", f"127.0.0.1:{port}", *flags, "--", "sleep", "1000")
        assert process.stdout is not None
        assert await asyncio.wait_for(process.stdout.readline(), 20) == b"hi\n"
        process.send_signal(signal.SIGINT)
        out, err = await asyncio.wait_for(process.communicate(), 20)
    return script, process.returncode, out, err


async def test_ctrl_c_detaches_and_leaves_the_job_running() -> None:
    script, returncode, out, err = await interrupted()
    assert returncode == 130
    assert out == b""
    assert err == b"hodei: detached; job job-1 keeps running (cancel it with: hodei job cancel job-1)\n"
    assert script.cancel_requests == []


async def test_ctrl_c_with_cancel_on_interrupt_cancels_the_job() -> None:
    script, returncode, out, err = await interrupted("--cancel-on-interrupt")
    assert returncode == 130
    assert out == b""
    assert err == b"hodei: interrupted; job job-1 cancelled\n"
    assert script.cancel_requests == [
        v1.CancelJobRequest(id="job-1", reason="hodei job run was interrupted (--cancel-on-interrupt)")
    ]
