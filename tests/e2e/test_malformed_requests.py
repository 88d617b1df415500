"""Property: 1,000 malformed or oversized requests spread over every RPC of a real hodeid,
sent with grpcio as raw bytes, each get the status code their fault calls for, and the
daemon keeps serving."""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import grpc
import pytest
from grpc import StatusCode as Code
from grpclib.health.v1.health_pb2 import HealthCheckRequest, HealthCheckResponse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hodei_api import v1
from hodeid.domain.access import ACCESS, Access
from tests.support.database import Databases
from tests.support.processes import Cluster

MAX_MESSAGE = 64 * 1024


@dataclass(frozen=True)
class Request:
    path: str
    payload: bytes
    metadata: tuple[tuple[str, str], ...]
    expected: Code
    fault: str


@dataclass(frozen=True)
class Rpc:
    kind: str  # unary_unary, unary_stream or stream_stream
    # Well-formed messages the handler itself must refuse, with the code it refuses them with.
    invalid: st.SearchStrategy[tuple[bytes, Code]] | None = None


negative = st.integers(-(2**31), -1)
ids = st.from_regex(r"[a-z0-9-]{0,40}", fullmatch=True)
texts = st.text(max_size=30)


def refused_with(code: Code, messages: st.SearchStrategy[object]) -> st.SearchStrategy[tuple[bytes, Code]]:
    return messages.map(lambda m: (bytes(m), code))  # type: ignore[call-overload]


bad_specs = st.one_of(
    st.builds(v1.JobSpec, command=st.just([]), name=texts),
    st.builds(lambda a: v1.JobSpec(command=[a + "\0"]), texts),
    st.builds(lambda c: v1.JobSpec(command=["true"], resources=v1.Resources(cpu=-c)), st.floats(0.1, 1e9)),
    st.builds(lambda k: v1.JobSpec(command=["true"], env={"1" + k: "v"}), texts),
    st.builds(lambda n: v1.JobSpec(command=["x"] * n), st.integers(4097, 5000)),
    st.builds(
        lambda s: v1.JobSpec(command=["true"], selector=[s]),
        st.sampled_from(["=", "!", "a in (", "!=v", "a b"]),
    ),
)
first_messages = st.one_of(
    st.builds(lambda: v1.WorkerMessage(heartbeat=v1.Heartbeat(seq=1))),
    st.builds(lambda w: v1.WorkerMessage(hello=v1.Hello(worker_id=w, slots=0)), ids),
    st.builds(lambda w: v1.WorkerMessage(hello=v1.Hello(worker_id="", slots=w)), st.integers(1, 9)),
)

RPCS: dict[str, Rpc] = {
    "/hodei.v1.JobService/SubmitJob": Rpc(
        "unary_unary", refused_with(Code.INVALID_ARGUMENT, st.builds(v1.SubmitJobRequest, spec=bad_specs))
    ),
    "/hodei.v1.JobService/GetJob": Rpc(
        "unary_unary", refused_with(Code.NOT_FOUND, st.builds(v1.GetJobRequest, id=ids))
    ),
    "/hodei.v1.JobService/ListJobs": Rpc(
        "unary_unary",
        st.one_of(
            refused_with(
                Code.INVALID_ARGUMENT, st.builds(v1.ListJobsRequest, limit=st.integers(-(2**31), -1))
            ),
            refused_with(Code.INVALID_ARGUMENT, st.builds(v1.ListJobsRequest, page_token=st.just("%%%"))),
        ),
    ),
    "/hodei.v1.JobService/CancelJob": Rpc(
        "unary_unary", refused_with(Code.NOT_FOUND, st.builds(v1.CancelJobRequest, id=ids))
    ),
    # Served by another change: only faults the daemon refuses before the handler are sent.
    "/hodei.v1.JobService/RetryJob": Rpc("unary_unary"),
    "/hodei.v1.JobService/WatchJobs": Rpc("unary_stream"),
    "/hodei.v1.LogService/StreamLogs": Rpc(
        "unary_stream",
        refused_with(
            Code.INVALID_ARGUMENT,
            st.builds(
                v1.StreamLogsRequest, job_id=ids, after_seq=st.integers(-(2**62), -1), follow=st.booleans()
            ),
        ),
    ),
    "/hodei.v1.SchedulerService/ExplainJob": Rpc(
        "unary_unary", refused_with(Code.NOT_FOUND, st.builds(v1.ExplainJobRequest, id=ids))
    ),
    "/hodei.v1.SchedulerService/WatchDecisions": Rpc("unary_stream"),
    "/hodei.v1.WorkerService/Connect": Rpc(
        "stream_stream", first_messages.map(lambda m: (bytes(m), Code.INVALID_ARGUMENT))
    ),
    "/hodei.v1.WorkerService/ListWorkers": Rpc("unary_unary"),
    "/hodei.v1.WorkerService/DrainWorker": Rpc(
        "unary_unary", refused_with(Code.NOT_FOUND, st.builds(v1.DrainWorkerRequest, id=ids))
    ),
    "/hodei.v1.WorkerService/WatchWorkers": Rpc("unary_stream"),
    "/hodei.v1.ProviderService/ListProviders": Rpc("unary_unary"),
    "/hodei.v1.DaemonService/ListDaemons": Rpc("unary_unary"),
    "/hodei.v1.ScheduleService/CreateSchedule": Rpc(
        "unary_unary",
        refused_with(
            Code.INVALID_ARGUMENT,
            st.builds(
                v1.CreateScheduleRequest,
                spec=st.builds(v1.ScheduleSpec, name=ids, cron=st.just("61 * * * *")),
            ),
        ),
    ),
    **{
        f"/hodei.v1.ScheduleService/{method}": Rpc(
            "unary_unary", refused_with(Code.NOT_FOUND, st.builds(request, name=ids))
        )
        for method, request in (
            ("GetSchedule", v1.GetScheduleRequest),
            ("PauseSchedule", v1.PauseScheduleRequest),
            ("ResumeSchedule", v1.ResumeScheduleRequest),
            ("DeleteSchedule", v1.DeleteScheduleRequest),
            ("RunSchedule", v1.RunScheduleRequest),
        )
    },
    "/hodei.v1.ScheduleService/ListSchedules": Rpc("unary_unary"),
    "/grpc.health.v1.Health/Check": Rpc("unary_unary"),
    "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo": Rpc("stream_stream"),
}

# Bytes no protobuf parser accepts: a field's tag, then its varint value cut short. (A cut
# tag alone is not enough: betterproto2 takes it for the end of the message.)
truncated = st.builds(
    lambda head, n: head + b"\x80" * n,
    st.sampled_from([b"\x08", b"\x10", b"\x18", b"\x20", b"\x28"]),
    st.integers(1, 12),
)
oversized = st.integers(MAX_MESSAGE + 1, 4 * MAX_MESSAGE).map(lambda n: b"\x0a" + b"x" * n)


def requests(admin: str, read: str) -> st.SearchStrategy[Request]:
    auth = {"admin": (("authorization", f"Bearer {admin}"),), "read": (("authorization", f"Bearer {read}"),)}

    @st.composite
    def build(draw: Callable[[st.SearchStrategy[object]], object]) -> Request:
        path = draw(st.sampled_from(sorted(RPCS)))
        assert isinstance(path, str)
        rpc, access = RPCS[path], ACCESS[path]
        faults = ["oversized", "malformed"]
        if access in (Access.READ, Access.ADMIN):
            faults += ["no token", "wrong token", "not bearer"]
        if access is Access.ADMIN:
            faults.append("read role")
        if rpc.invalid is not None:
            faults.append("invalid")
        fault = str(draw(st.sampled_from(faults)))
        body = draw(st.one_of(truncated, oversized, st.binary(max_size=64)))
        assert isinstance(body, bytes)
        if fault == "no token":
            return Request(path, body, (), Code.UNAUTHENTICATED, fault)
        if fault in ("wrong token", "not bearer"):
            token = draw(st.from_regex(r"[A-Za-z0-9._-]{0,60}", fullmatch=True))
            scheme = "Bearer" if fault == "wrong token" else draw(st.sampled_from(["Basic", "Token", ""]))
            return Request(path, body, (("authorization", f"{scheme} {token}"),), Code.UNAUTHENTICATED, fault)
        if fault == "read role":
            return Request(path, body, auth["read"], Code.PERMISSION_DENIED, fault)
        if fault == "oversized":
            payload = draw(oversized)
            assert isinstance(payload, bytes)
            return Request(path, payload, auth["admin"], Code.RESOURCE_EXHAUSTED, fault)
        if fault == "malformed":
            payload = draw(truncated)
            assert isinstance(payload, bytes)
            return Request(path, payload, auth["admin"], Code.INVALID_ARGUMENT, fault)
        assert rpc.invalid is not None
        invalid = draw(rpc.invalid)
        assert isinstance(invalid, tuple)
        return Request(path, invalid[0], auth["admin"], invalid[1], fault)

    return build()


def call(channel: grpc.Channel, request: Request) -> tuple[Code, str]:
    """Send ``request`` and return the status it ended with, and its message."""
    kind = RPCS[request.path].kind
    try:
        if kind == "unary_unary":
            channel.unary_unary(request.path)(request.payload, metadata=request.metadata, timeout=20)
        elif kind == "unary_stream":
            for _ in channel.unary_stream(request.path)(
                request.payload, metadata=request.metadata, timeout=20
            ):
                pass
        else:
            responses = channel.stream_stream(request.path)(
                iter([request.payload]), metadata=request.metadata, timeout=20
            )
            for _ in responses:
                pass
    except grpc.RpcError as exc:
        return exc.code(), exc.details() or ""
    return Code.OK, ""


@pytest.fixture(scope="module")
def daemon(databases: Databases, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    name = databases.create()
    c = Cluster(databases.url(name), tmp_path_factory.mktemp("malformed"))
    try:
        c.start_daemon(env={"HODEI_LIMITS__MAX_MESSAGE_BYTES": str(MAX_MESSAGE)})
        yield c
    finally:
        c.close()
        databases.drop(name)


def test_a_thousand_bad_requests_get_the_right_codes_and_the_daemon_keeps_serving(daemon: Cluster) -> None:
    made = daemon.hodeid("token", "create", "--role", "read")
    assert made.returncode == 0, made.stderr
    read = made.stdout.decode().strip()
    seen: collections.Counter[str] = collections.Counter()
    with grpc.insecure_channel(daemon.addr) as channel:

        @settings(max_examples=1000, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @given(request=requests(daemon.admin_token(), read))
        def check(request: Request) -> None:
            got, message = call(channel, request)
            assert got == request.expected, (
                f"{request.fault} on {request.path}: {got}, not {request.expected}"
            )
            assert message, f"{request.fault} on {request.path}: {got} without a message"
            if request.fault == "oversized":
                assert f"limits.max_message_bytes is {MAX_MESSAGE}" in message
            seen[request.path] += 1

        check()
        assert sum(seen.values()) >= 1000
        assert sorted(seen) == sorted(RPCS)
        health = channel.unary_unary(
            "/grpc.health.v1.Health/Check",
            request_serializer=HealthCheckRequest.SerializeToString,
            response_deserializer=HealthCheckResponse.FromString,
        )
        assert health(HealthCheckRequest(), timeout=10).status == HealthCheckResponse.SERVING
    assert daemon.daemon is not None and daemon.daemon.poll() is None
    assert daemon.hodei("job", "list").returncode == 0
