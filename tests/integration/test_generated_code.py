"""The committed hodei_api/gen, stubs and descriptor set, is exactly what scripts/proto.sh
makes from protos/."""

from __future__ import annotations

import filecmp
import os
import subprocess
import sys
from pathlib import Path

from google.protobuf.descriptor_pb2 import FileDescriptorSet

REPO = Path(__file__).resolve().parents[2]


def _diff(a: Path, b: Path) -> list[str]:
    cmp = filecmp.dircmp(a, b, ignore=["__pycache__"])
    found = [f"only in {a}: {n}" for n in cmp.left_only] + [f"only in {b}: {n}" for n in cmp.right_only]
    found += [f"differs: {a / n}" for n in cmp.diff_files]
    for sub in cmp.common_dirs:
        found += _diff(a / sub, b / sub)
    return found


def test_generated_code_is_up_to_date(tmp_path: Path) -> None:
    # The generator of the interpreter running the tests, whatever `python` the PATH has first.
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    subprocess.run(
        [str(REPO / "scripts" / "proto.sh"), str(tmp_path / "gen")],
        check=True,
        cwd=REPO,
        env={**os.environ, "PATH": path},
    )
    stale = _diff(REPO / "hodei_api" / "gen", tmp_path / "gen")
    assert not stale, "hodei_api/gen is stale; run scripts/proto.sh (or just proto):\n" + "\n".join(stale)


def test_the_descriptor_set_holds_every_file_of_protos_after_its_imports() -> None:
    protos = REPO / "protos"
    wanted = {str(p.relative_to(protos)) for p in protos.rglob("*.proto")}
    files = FileDescriptorSet.FromString((REPO / "hodei_api" / "gen" / "contract.binpb").read_bytes()).file
    names = [file.name for file in files]
    assert wanted <= set(names)
    for i, file in enumerate(files):
        assert set(file.dependency) <= set(names[:i]), f"{file.name} comes before what it imports"
