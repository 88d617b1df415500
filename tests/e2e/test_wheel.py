"""A wheel built from the source tree, installed into a fresh virtual environment, holds every
file the programs need: the console opens (its stylesheet is package data) and quits, and the
daemon's reflection finds the contract's descriptors (package data too)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import venv
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.terminal import console_opens_and_quits

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("hodeid", "hodei_worker", "hodei_tui", "hodei_api")


def build_wheel(tmp_path: Path) -> Path:
    """The wheel of a copy of the source tree (building in place would leave build/ behind)."""
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for package in PACKAGES:
        shutil.copytree(ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    wheels = tmp_path / "wheels"
    # No build isolation and no dependencies: the test venv's setuptools builds it offline.
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels),
         str(source)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (wheel,) = wheels.glob("hodei-*.whl")
    return wheel


def install(wheel: Path, tmp_path: Path) -> Path:
    """A fresh venv holding ``wheel``, which finds its dependencies in this venv's
    site-packages (after its own, so the wheel's files are the ones imported); its bin dir."""
    target = tmp_path / "venv"
    venv.create(target, with_pip=False)
    (site,) = target.glob("lib/python*/site-packages")
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(target / "bin" / "python"), "install", "--no-deps",
         "--no-index", "-q", str(wheel)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    return target / "bin"


@pytest.fixture(scope="module")
def bin_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The bin dir of a fresh venv that holds the wheel, built once for the module."""
    tmp_path = tmp_path_factory.mktemp("wheel")
    yield install(build_wheel(tmp_path), tmp_path)


def test_the_installed_wheel_opens_the_console(bin_dir: Path, tmp_path: Path) -> None:
    where = subprocess.run(
        [str(bin_dir / "python"), "-c", "import hodei_tui; print(hodei_tui.__file__)"],
        capture_output=True, check=True, cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert where.stdout.decode().startswith(str(bin_dir.parent)), where.stdout
    assert console_opens_and_quits([str(bin_dir / "hodei"), "tui"], cwd=tmp_path) == 0


def test_the_installed_wheel_holds_the_contract_descriptors(bin_dir: Path, tmp_path: Path) -> None:
    found = subprocess.run(
        [str(bin_dir / "python"), "-c",
         "from hodeid.api.reflection import Descriptors; "
         "print(Descriptors().FindFileContainingSymbol('hodei.v1.JobService').name)"],
        capture_output=True, cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert found.returncode == 0, found.stderr.decode()
    assert found.stdout.decode().strip() == "hodei/v1/jobs.proto"
