"""``scripts/env.sh`` on a first run: a line per step and a line every 10 s instead of silence,
pip's and setuptools' own output kept in the install log, and on failure the end of that log
and a stop, not an environment marked installed. pip is a stand-in here that writes what the
real one writes on this kind of machine (index warnings, setuptools' editable-install banner)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

FAKE_PIP = """
import os, sys, time
print("WARNING: Location 'file:///opt/pypi-more/simple/idna/' is ignored", file=sys.stderr)
print("Collecting grpclib")
print("Collecting asyncpg")
time.sleep(float(os.environ.get("FAKE_PIP_SECONDS", "0")) if "-e" in sys.argv else 0)
print("  !!\\n  ****  Editable installation.  ****\\n  !!", file=sys.stderr)
if "-e" in sys.argv and os.environ.get("FAKE_PIP_FAILS"):
    print("ERROR: No matching distribution found for grpclib>=0.4", file=sys.stderr)
    sys.exit(1)
"""


@pytest.fixture
def fresh_venv(tmp_path: Path) -> Path:
    """A virtual environment nothing was installed in, whose pip is the stand-in."""
    target = tmp_path / "venv"
    venv.create(target, with_pip=False)
    (site,) = target.glob("lib/python*/site-packages")
    (site / "pip").mkdir()
    (site / "pip" / "__init__.py").write_text("")
    (site / "pip" / "__main__.py").write_text(FAKE_PIP)
    return target


def source_env(target: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {**os.environ, "HODEI_VENV": str(target), "PYTHON": sys.executable, **env}
    script = f"source {ROOT / 'scripts' / 'env.sh'} && echo sourced"
    return subprocess.run(["bash", "-c", script], env=environ, capture_output=True, text=True, timeout=120)


def test_a_first_install_says_what_it_does_and_nothing_of_pip(fresh_venv: Path) -> None:
    result = source_env(fresh_venv)
    assert (result.returncode, result.stdout) == (0, "sourced\n"), result.stderr
    assert result.stderr.splitlines() == [
        "hodei: upgrading pip ...",
        f"hodei: installing hodei and its dependencies into {fresh_venv} ...",
        f"hodei: {fresh_venv} is ready",
    ]
    log = (fresh_venv / "hodei-install.log").read_text()
    assert "Editable installation" in log and "is ignored" in log
    assert (fresh_venv / ".hodei-installed").exists()
    assert source_env(fresh_venv).stderr == "", "the second run installs again"


def test_a_long_install_says_it_is_still_at_it(fresh_venv: Path) -> None:
    result = source_env(fresh_venv, FAKE_PIP_SECONDS="10.5")
    assert result.returncode == 0, result.stderr
    # At 10 s, or a little later on a busy machine.
    assert re.search(r"^hodei:   \.\.\. 1[0-9] s: 2 packages found$", result.stderr, re.MULTILINE)


def test_a_failed_install_shows_the_end_of_its_log_and_stops(fresh_venv: Path) -> None:
    result = source_env(fresh_venv, FAKE_PIP_FAILS="1")
    assert (result.returncode, result.stdout) == (1, "")
    log = fresh_venv / "hodei-install.log"
    step = f"installing hodei and its dependencies into {fresh_venv}"
    assert f"hodei: {step} failed (exit 1); the end of {log}:\n" in result.stderr
    assert result.stderr.endswith("  ERROR: No matching distribution found for grpclib>=0.4\n")
    assert not (fresh_venv / ".hodei-installed").exists()


def test_the_project_venv_imports_hodei_without_an_import_hook() -> None:
    # scripts/env.sh installs in setuptools' "compat" editable mode: a .pth line, not a finder
    # module that every Python started from the venv (each hodei command) would import.
    probe = "import sys, hodei_api; print(sorted(m for m in sys.modules if m.startswith('__editable__')))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout == "[]\n"
