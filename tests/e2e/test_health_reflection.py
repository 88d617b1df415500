"""grpc.health.v1 and server reflection of a real hodeid, called through grpcio, a gRPC
implementation other than the daemon's own (the messages are the standard protobuf ones)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import grpc
import pytest

from tests.support.database import Databases
from tests.support.grpcio_standard import health, listed_services
from tests.support.processes import Cluster

CONTRACT = {
    "hodei.v1.DaemonService",
    "hodei.v1.JobService",
    "hodei.v1.LogService",
    "hodei.v1.ProviderService",
    "hodei.v1.ScheduleService",
    "hodei.v1.SchedulerService",
    "hodei.v1.WorkerService",
}


@pytest.fixture
def channel(bare: Cluster) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(bare.addr) as channel:
        yield channel


def wait_status(channel: grpc.Channel, status: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while (seen := health(channel)) != status:
        assert time.monotonic() < deadline, f"health is {seen}, not {status}"
        time.sleep(0.2)


def test_health_serves_the_server_and_each_contract_service(channel: grpc.Channel) -> None:
    assert health(channel) == "SERVING"
    for service in CONTRACT:
        assert health(channel, service) == "SERVING"
    with pytest.raises(grpc.RpcError) as info:
        health(channel, "no.such.Service")
    assert info.value.code() is grpc.StatusCode.NOT_FOUND


def test_health_is_not_serving_while_the_database_is_down(
    channel: grpc.Channel, databases: Databases, database_url: str
) -> None:
    name = urlsplit(database_url).path.lstrip("/")
    databases.shut(name)
    try:
        wait_status(channel, "NOT_SERVING")
    finally:
        databases.shut(name, shut=False)
    wait_status(channel, "SERVING")


def test_reflection_lists_the_contract_health_and_reflection(channel: grpc.Channel) -> None:
    listed = listed_services(channel)
    assert listed == CONTRACT | {"grpc.health.v1.Health"}
