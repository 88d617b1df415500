"""Server reflection describes every message and method of the contract, so that a client
with nothing but reflection (grpcurl, Postman, Evans, grpcio) can build and send every call:
a grpcio client process that never imports hodei_api submits and lists a job."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf.descriptor_pb2 import FileDescriptorProto, FileDescriptorSet
from grpc_tools import protoc

from tests.support.grpcio_standard import reflected_file
from tests.support.processes import Cluster

CLIENT = Path(__file__).resolve().parents[1] / "support" / "reflection_client.py"
PROTOS = Path(__file__).resolve().parents[2] / "protos"


@pytest.fixture(scope="module")
def protos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, FileDescriptorProto]:
    """protos/ and the files they import, compiled here by protoc: what reflection must serve."""
    out = tmp_path_factory.mktemp("protos") / "contract.binpb"
    include = Path(protoc.__file__).parent / "_proto"
    names = sorted(str(p.relative_to(PROTOS)) for p in PROTOS.rglob("*.proto"))
    args = ["protoc", f"-I{PROTOS}", f"-I{include}", f"--descriptor_set_out={out}", "--include_imports"]
    assert protoc.main([*args, *names]) == 0, f"protoc failed on {names}"
    return {file.name: file for file in FileDescriptorSet.FromString(out.read_bytes()).file}


def reflection_only_client(cluster: Cluster) -> dict[str, Any]:
    """What the client that knows only reflection saw of the daemon of ``cluster``."""
    env = {"PATH": "/usr/bin:/bin", "BEARER_TOKEN": cluster.admin_token()}
    ran = subprocess.run(
        [sys.executable, str(CLIENT), cluster.addr], env=env, capture_output=True, timeout=60
    )
    assert ran.returncode == 0, ran.stderr.decode()
    seen: dict[str, Any] = json.loads(ran.stdout)
    return seen


def test_a_client_with_reflection_alone_describes_every_rpc_submits_and_lists(
    bare: Cluster, protos: dict[str, FileDescriptorProto]
) -> None:
    seen = reflection_only_client(bare)
    assert seen["foreign_modules"] == [], "the client must know the contract from reflection only"

    served = {name: FileDescriptorProto.FromString(base64.b64decode(b)) for name, b in seen["files"].items()}
    assert set(protos) <= set(served)
    for name, file in protos.items():
        assert served[name] == file, f"reflection describes {name} otherwise than protos/ does"

    expected = {
        f"{file.package}.{service.name}.{method.name}": name
        for name, file in protos.items()
        for service in file.service
        for method in service.method
    }
    assert expected, "protos/ has no method"
    contract = {m: f for m, f in seen["method_files"].items() if not m.startswith("grpc.health.")}
    assert contract == expected, "each method's file, found by the method's full name"
    assert seen["method_files"]["grpc.health.v1.Health.Check"].endswith("health.proto")

    job = seen["submitted"]["job"]
    assert (job["spec"]["name"], job["spec"]["command"]) == ("by-reflection", ["true"])
    assert [j["id"] for j in seen["listed"]["jobs"]] == [job["id"]]
    assert seen["listed"]["jobs"][0]["state"] == "JOB_STATE_PENDING"
    assert seen.get("without_token") == "UNAUTHENTICATED", "reflection is public, calls are not"


def test_the_lookups_of_the_issue_find_the_files(bare: Cluster) -> None:
    """Reflection v1 (the client above speaks v1alpha), by symbol and by file name."""
    with grpc.insecure_channel(bare.addr) as channel:
        assert reflected_file(channel, symbol="hodei.v1.JobService") == "hodei/v1/jobs.proto"
        assert reflected_file(channel, symbol="hodei.v1.JobService.SubmitJob") == "hodei/v1/jobs.proto"
        assert reflected_file(channel, symbol="hodei.v1.JobSpec") == "hodei/v1/common.proto"
        assert reflected_file(channel, filename="hodei/v1/jobs.proto") == "hodei/v1/jobs.proto"
        assert reflected_file(channel, symbol="hodei.v1.NoSuchThing") == "error 5: not found"
