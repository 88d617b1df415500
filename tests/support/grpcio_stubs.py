"""grpcio stubs generated from protos/ with grpcio-tools, for tests that call hodeid with a
gRPC implementation other than its own."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

from grpc_tools import protoc

PROTOS = Path(__file__).resolve().parents[2] / "protos"


@contextmanager
def generated(out: Path) -> Iterator[dict[str, ModuleType]]:
    """Generate ``*_pb2`` and ``*_pb2_grpc`` modules into ``out`` and import them, by name
    (``jobs_pb2``, ``jobs_pb2_grpc``, ...); they are unloaded again on exit."""
    protos = sorted(str(p.relative_to(PROTOS)) for p in PROTOS.rglob("*.proto"))
    include = Path(protoc.__file__).parent / "_proto"
    args = ["protoc", f"-I{PROTOS}", f"-I{include}", f"--python_out={out}", f"--grpc_python_out={out}"]
    if protoc.main([*args, *protos]) != 0:
        raise RuntimeError(f"grpc_tools.protoc failed on {protos}")
    sys.path.insert(0, str(out))
    try:
        modules = {}
        for proto in protos:
            dotted = proto.removesuffix(".proto").replace("/", ".")
            for suffix in ("_pb2", "_pb2_grpc"):
                module = importlib.import_module(dotted + suffix)
                modules[dotted.rpartition(".")[2] + suffix] = module
        yield modules
    finally:
        sys.path.remove(str(out))
        for name in [n for n in sys.modules if n == "hodei" or n.startswith("hodei.")]:
            del sys.modules[name]
