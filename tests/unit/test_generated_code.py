"""The committed hodei_api/gen is exactly what scripts/proto.sh makes from protos/."""

from __future__ import annotations

import filecmp
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _diff(a: Path, b: Path) -> list[str]:
    cmp = filecmp.dircmp(a, b, ignore=["__pycache__"])
    found = [f"only in {a}: {n}" for n in cmp.left_only] + [f"only in {b}: {n}" for n in cmp.right_only]
    found += [f"differs: {a / n}" for n in cmp.diff_files]
    for sub in cmp.common_dirs:
        found += _diff(a / sub, b / sub)
    return found


def test_generated_code_is_up_to_date(tmp_path: Path) -> None:
    subprocess.run([str(REPO / "scripts" / "proto.sh"), str(tmp_path / "gen")], check=True, cwd=REPO)
    stale = _diff(REPO / "hodei_api" / "gen", tmp_path / "gen")
    assert not stale, "hodei_api/gen is stale; run scripts/proto.sh (or just proto):\n" + "\n".join(stale)
