"""Acceptance of issue 7 with grpcio and stubs generated from protos/ at test time: a call
without a token is UNAUTHENTICATED, one with the daemon's admin token succeeds, health
answers without a token, and reflection lists the services."""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType

import grpc
import pytest

from tests.support.grpcio_standard import health, listed_services
from tests.support.grpcio_stubs import generated
from tests.support.processes import Cluster


@pytest.fixture(scope="module")
def stubs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, ModuleType]]:
    with generated(tmp_path_factory.mktemp("grpcio")) as modules:
        yield modules


@pytest.fixture
def channel(bare: Cluster) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(bare.addr) as channel:
        yield channel


def test_without_a_token_the_api_is_unauthenticated(
    channel: grpc.Channel, stubs: dict[str, ModuleType]
) -> None:
    jobs = stubs["jobs_pb2_grpc"].JobServiceStub(channel)
    with pytest.raises(grpc.RpcError) as info:
        jobs.ListJobs(stubs["jobs_pb2"].ListJobsRequest(), timeout=10)
    assert info.value.code() is grpc.StatusCode.UNAUTHENTICATED
    assert "authorization: Bearer <token>" in (info.value.details() or "")


def test_with_the_admin_token_calls_succeed(
    channel: grpc.Channel, stubs: dict[str, ModuleType], bare: Cluster
) -> None:
    pb, jobs = stubs["jobs_pb2"], stubs["jobs_pb2_grpc"].JobServiceStub(channel)
    auth = [("authorization", f"Bearer {bare.admin_token()}")]
    spec = stubs["common_pb2"].JobSpec(command=["true"])
    submitted = jobs.SubmitJob(pb.SubmitJobRequest(spec=spec), metadata=auth, timeout=10)
    listed = jobs.ListJobs(pb.ListJobsRequest(), metadata=auth, timeout=10)
    assert [job.id for job in listed.jobs] == [submitted.job.id]


def test_a_read_token_may_not_submit(
    channel: grpc.Channel, stubs: dict[str, ModuleType], bare: Cluster
) -> None:
    made = bare.hodeid("token", "create", "--role", "read", "--name", "dashboard")
    assert made.returncode == 0, made.stderr
    auth = [("authorization", f"Bearer {made.stdout.decode().strip()}")]
    pb, jobs = stubs["jobs_pb2"], stubs["jobs_pb2_grpc"].JobServiceStub(channel)
    jobs.ListJobs(pb.ListJobsRequest(), metadata=auth, timeout=10)
    with pytest.raises(grpc.RpcError) as info:
        jobs.SubmitJob(pb.SubmitJobRequest(), metadata=auth, timeout=10)
    assert info.value.code() is grpc.StatusCode.PERMISSION_DENIED
    assert "hodeid token create --role admin" in (info.value.details() or "")


def test_health_needs_no_token(channel: grpc.Channel) -> None:
    assert health(channel) == "SERVING"


def test_reflection_lists_the_services_without_a_token(channel: grpc.Channel) -> None:
    listed = listed_services(channel)
    assert {"hodei.v1.JobService", "hodei.v1.WorkerService", "grpc.health.v1.Health"} <= listed


def test_the_token_files_are_private_and_the_daemon_says_where(bare: Cluster) -> None:
    for name in ("admin.token", "join.token"):
        assert (bare.data_dir / name).stat().st_mode & 0o777 == 0o600
    assert (bare.data_dir / "admin.token").read_text().startswith("hodei_")
    assert f"admin token written to {bare.data_dir / 'admin.token'} (mode 0600)" in bare.logs()
