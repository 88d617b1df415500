"""The access table covers every RPC: each one declared in protos/, and each one the daemon
serves. A new RPC without a role fails here (and is refused by the daemon until it has one)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import cast

import pytest
from grpclib._typing import IServable
from grpclib.health.service import Health
from grpclib.reflection.service import ServerReflection

from hodei_api import v1
from hodeid.domain.access import ACCESS, Access, Role, allows

PROTOS = Path(__file__).resolve().parents[2] / "protos"
_SERVICE = re.compile(r"service\s+(\w+)\s*\{(.*?)\n\}", re.DOTALL)
_RPC = re.compile(r"rpc\s+(\w+)\s*\(")


def declared() -> set[str]:
    """Every RPC path of the contract, read from the .proto files."""
    paths = set()
    for proto in PROTOS.rglob("*.proto"):
        text = proto.read_text()
        package = re.search(r"^package\s+([\w.]+);", text, re.MULTILINE)
        assert package is not None, proto
        for service, body in _SERVICE.findall(text):
            paths |= {f"/{package[1]}.{service}/{rpc}" for rpc in _RPC.findall(body)}
    return paths


def test_every_declared_rpc_has_a_role() -> None:
    contract = declared()
    assert "/hodei.v1.JobService/RetryJob" in contract  # the parser sees the whole contract
    assert sorted(contract - ACCESS.keys()) == []


def test_every_served_rpc_has_a_role() -> None:
    bases = [
        v1.JobServiceBase, v1.LogServiceBase, v1.SchedulerServiceBase,
        v1.WorkerServiceBase, v1.ProviderServiceBase, v1.DaemonServiceBase,
    ]  # fmt: skip
    # The handlers are never called here: only the paths are read.
    contract = cast("list[IServable]", [base() for base in bases])
    served = {path for s in ServerReflection.extend([*contract, Health()]) for path in s.__mapping__()}
    assert sorted(served - ACCESS.keys()) == []


@pytest.mark.parametrize(
    ("path", "access"),
    [
        ("/hodei.v1.JobService/RetryJob", Access.ADMIN),
        ("/hodei.v1.JobService/WatchJobs", Access.READ),
        ("/hodei.v1.WorkerService/WatchWorkers", Access.READ),
        ("/hodei.v1.WorkerService/DrainWorker", Access.ADMIN),
        ("/hodei.v1.WorkerService/Connect", Access.WORKER),
        ("/grpc.health.v1.Health/Check", Access.PUBLIC),
        ("/hodei.v1.DaemonService/ListDaemons", Access.READ),
    ],
)
def test_roles_of_rpcs_the_issue_names(path: str, access: Access) -> None:
    assert ACCESS[path] is access


@pytest.mark.parametrize(
    ("role", "access", "allowed"),
    [
        (Role.READ, Access.READ, True),
        (Role.READ, Access.ADMIN, False),
        (Role.ADMIN, Access.READ, True),
        (Role.ADMIN, Access.ADMIN, True),
        (Role.ADMIN, Access.WORKER, False),
        (Role.READ, Access.WORKER, False),
    ],
)
def test_allows(role: Role, access: Access, allowed: bool) -> None:
    assert allows(role, access) is allowed
