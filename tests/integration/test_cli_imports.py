"""What the installed ``hodei`` command imports, run as a process to the end of each command:
the scripted commands never load the console (Textual, Rich), the daemon's libraries or
pydantic, and help loads no gRPC at all. Startup time is mostly imports; these keep it short
(the figures are printed by scripts/bench/cli_start.py, never asserted here)."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from hodei_api import v1
from tests.support.scripted_daemon import CREATED, LogScript, Script, chunk, line, serving

HODEI = str(Path(sys.executable).parent / "hodei")

# Packages the scripted commands must never load: the console and what only it needs, the
# daemon and its database driver, and pydantic (betterproto2 would import it for nothing).
NEVER_IN_COMMANDS = {"textual", "rich", "hodeid", "asyncpg", "pydantic", "pydantic_core"}
CONSOLE_MODULES = ("hodei_tui.console", "hodei_tui.widgets")
# Help needs only the parser: no event loop, no gRPC, no generated messages.
NEVER_IN_HELP = NEVER_IN_COMMANDS | {"asyncio", "grpclib", "h2", "betterproto2", "dateutil"}

COMMANDS = [
    ["job", "run", "--", "true"],
    ["job", "get", "job-1"],
    ["job", "get", "job-1", "-o", "json"],
    ["job", "list"],
    ["job", "list", "-o", "json"],
    ["job", "logs", "job-1"],
    ["job", "logs", "job-1", "-o", "jsonl"],
    ["job", "explain", "job-1", "-v"],
    ["job", "cancel", "job-1"],
    ["job", "retry", "job-1"],
    ["worker", "list"],
    ["worker", "drain", "w1"],
    ["provider", "list"],
    ["daemon", "list"],
    ["daemon", "list", "-o", "jsonl"],
]


def script() -> Script:
    """A daemon on which every command above succeeds: job-1 has run, and the next job
    submitted is that one."""
    job = v1.Job(
        id="job-1",
        spec=v1.JobSpec(command=["true"]),
        state=v1.JobState.SUCCEEDED,
        exit_code=0,
        created_at=CREATED,
        finished_at=CREATED,
    )
    log = [chunk(line(1, v1.LogStream.STDOUT, b"hi\n"), final_state=v1.JobState.SUCCEEDED)]
    return Script(
        jobs={"job-1": job},
        logs=[LogScript(log)],
        workers=[v1.WorkerInfo(id="w1", slots_total=1)],
        explained={"job-1": v1.ExplainJobResponse(state=v1.JobState.SUCCEEDED)},
    )


# Put on PYTHONPATH as sitecustomize, which every interpreter imports as it starts: at exit it
# writes the names of the modules loaded (an import that failed leaves none) to $MODULES_FILE.
SITECUSTOMIZE = """
import atexit, os, sys

def _write_modules():
    with open(os.environ["MODULES_FILE"], "w") as out:
        out.write("\\n".join(name for name, module in sys.modules.items() if module is not None))

atexit.register(_write_modules)
"""


async def imported_by(tmp_path: Path, *argv: str) -> set[str]:
    """Run the ``hodei`` console script to its end; every module it had loaded by then."""
    (tmp_path / "sitecustomize.py").write_text(SITECUSTOMIZE)
    modules_file = tmp_path / "modules"
    process = await asyncio.create_subprocess_exec(
        HODEI,
        *argv,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(tmp_path), "MODULES_FILE": str(modules_file)},
    )
    _, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, f"hodei {' '.join(argv)} exited {process.returncode}: {err.decode()}"
    return set(modules_file.read_text().splitlines())


def loaded(modules: set[str], packages: set[str]) -> list[str]:
    return sorted(
        name for name in modules if name.split(".")[0] in packages or name.startswith(CONSOLE_MODULES)
    )


@pytest.mark.parametrize("argv", COMMANDS, ids=" ".join)
async def test_commands_never_load_the_console(argv: list[str], tmp_path: Path) -> None:
    async with serving(script()) as port:
        modules = await imported_by(tmp_path, "--addr", f"127.0.0.1:{port}", *argv)
    assert "grpclib.client" in modules  # it did talk to the daemon
    assert loaded(modules, NEVER_IN_COMMANDS) == []


@pytest.mark.parametrize(
    "argv",
    [["--help"], ["job", "--help"], ["job", "run", "--help"], ["worker", "list", "--help"]],
    ids=" ".join,
)
async def test_help_loads_no_grpc(argv: list[str], tmp_path: Path) -> None:
    modules = await imported_by(tmp_path, *argv)
    assert "hodei_tui.cli.parser" in modules
    assert loaded(modules, NEVER_IN_HELP) == []
