"""The systemd units of deploy/systemd: they start the programs where the README's install puts
them, ``systemd-analyze verify`` finds nothing to say about them on a root laid out that way,
the worker is hardened at least as well as the daemon, and the capabilities the worker's
jobs-as-another-user drop-in keeps are enough to run, and cancel, a job as another user."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.jobs import detach, job_json, wait_state
from tests.support.processes import BIN, Cluster

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "deploy" / "systemd"
DROP_IN = UNITS / "hodei-worker.service.d" / "jobs-as-another-user.conf"
PROGRAMS = {"hodeid.service": "hodeid", "hodei-worker.service": "hodei-worker"}
ANALYZE = shutil.which("systemd-analyze")
NEEDS_ANALYZE = pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed")


def setting(text: str, key: str) -> str:
    """The last value of ``key=`` in a unit file's text (later lines override earlier ones)."""
    values = re.findall(rf"^{key}=(.*)$", text, re.MULTILINE)
    assert values, f"no {key}= line"
    return str(values[-1]).strip()


def readme_venv() -> str:
    """Where the README's "Running it as a service" installs the programs: its venv."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Running it as a service", 1)[1].split("\n### ", 1)[0]
    found = re.search(r"^python3 -m venv (\S+)$", section, re.MULTILINE)
    assert found, "the README's service section installs no venv"
    return found.group(1)


def installed_root(tmp_path: Path, drop_in: bool = False) -> Path:
    """A file system root as the README's install leaves it: the programs in the venv's bin,
    the units (and the worker's drop-in) in /etc/systemd/system, and systemd's own units."""
    root = tmp_path / "root"
    shutil.copytree("/usr/lib/systemd/system", root / "usr/lib/systemd/system", symlinks=True)
    bin_dir = root / readme_venv().lstrip("/") / "bin"
    bin_dir.mkdir(parents=True)
    for program in PROGRAMS.values():
        shutil.copy(BIN / program, bin_dir / program)
    system = root / "etc/systemd/system"
    system.mkdir(parents=True)
    for unit in PROGRAMS:
        shutil.copy(UNITS / unit, system / unit)
    if drop_in:
        (system / "hodei-worker.service.d").mkdir()
        shutil.copy(DROP_IN, system / "hodei-worker.service.d" / DROP_IN.name)
    return root


def analyze(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert ANALYZE is not None
    return subprocess.run(
        [ANALYZE, *args, f"--root={root}"], capture_output=True, text=True, timeout=120, check=False
    )


def exposure(root: Path, unit: str) -> float:
    """``systemd-analyze security``'s overall exposure of ``unit`` (0 best, 10 worst)."""
    result = analyze(root, "security", "--offline=true", unit)
    found = re.search(rf"Overall exposure level for {re.escape(unit)}: ([0-9.]+)", result.stdout)
    assert found, result.stdout + result.stderr
    return float(found.group(1))


@pytest.mark.parametrize("unit", sorted(PROGRAMS))
def test_the_units_start_the_programs_where_the_readme_installs_them(unit: str) -> None:
    exec_start = setting((UNITS / unit).read_text(), "ExecStart")
    assert exec_start == f"{readme_venv()}/bin/{PROGRAMS[unit]}"


@NEEDS_ANALYZE
@pytest.mark.parametrize(
    ("unit", "drop_in"),
    [("hodeid.service", False), ("hodei-worker.service", False), ("hodei-worker.service", True)],
)
def test_systemd_analyze_verify_has_nothing_to_say(unit: str, drop_in: bool, tmp_path: Path) -> None:
    result = analyze(installed_root(tmp_path, drop_in), "verify", unit)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


@NEEDS_ANALYZE
@pytest.mark.parametrize("drop_in", [False, True], ids=["as hodei-worker", "jobs as another user"])
def test_the_worker_is_hardened_at_least_as_well_as_the_daemon(drop_in: bool, tmp_path: Path) -> None:
    root = installed_root(tmp_path, drop_in)
    assert exposure(root, "hodei-worker.service") <= exposure(root, "hodeid.service")


def bounding_set() -> str:
    """The drop-in's CapabilityBoundingSet as setpriv's --bounding-set argument."""
    caps = setting(DROP_IN.read_text(), "CapabilityBoundingSet").split()
    return ",".join(["-all", *(f"+{cap.removeprefix('CAP_').lower()}" for cap in caps)])


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root and setpriv")
def test_the_drop_in_capabilities_run_and_cancel_a_job_as_another_user(bare: Cluster, job_dir: Path) -> None:
    # The job's --cwd is open to its user only: root enters it with CAP_DAC_READ_SEARCH alone.
    job_dir.chmod(0o700)
    wrapper = ["setpriv", f"--bounding-set={bounding_set()}", "--inh-caps=-all", "--no-new-privs"]
    bare.start_worker("--job-user", "nobody", wrapper=wrapper)
    ran = bare.hodei("job", "run", "--cwd", str(job_dir), "--", "sh", "-c", "id -un; pwd")
    assert (ran.returncode, ran.stdout.decode()) == (0, f"nobody\n{job_dir}\n"), ran.stderr
    # Cancelling signals the job's process group, nobody's: CAP_KILL.
    job_id = detach(bare, "--", "sleep", "600")
    wait_state(bare, job_id, "RUNNING")
    assert bare.hodei("job", "cancel", job_id).returncode == 0
    done = wait_state(bare, job_id, "CANCELLED")
    assert done["signal"] == 15, job_json(bare, job_id)
