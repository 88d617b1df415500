"""Tokens and roles at the daemon's one check point, through the server hodeid serves
(build_server, on loopback): unary and streaming RPCs alike."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator

import asyncpg
import pytest
from grpclib.const import Status
from grpclib.exceptions import GRPCError

from hodei_api import v1
from hodei_api.worker_identity import new_credential
from hodeid.config import LimitSettings, SchedulerSettings
from hodeid.control.daemon import Daemon
from hodeid.domain.access import Role
from hodeid.metrics import REGISTRY
from tests.support.auth import bearer, channel_for

SETTINGS = SchedulerSettings(tick_seconds=0.05)
SPEC = v1.JobSpec(command=["true"])


@pytest.fixture
async def daemon(pool: asyncpg.Pool) -> AsyncIterator[Daemon]:
    daemon = Daemon(pool, SETTINGS, limits=LimitSettings(max_pending_per_submitter=2))
    yield daemon
    await daemon.stop()


async def refused(call: object) -> GRPCError:
    with pytest.raises(GRPCError) as raised:
        await call  # type: ignore[misc]
    return raised.value


def refusals(status: str) -> float:
    return REGISTRY.get_sample_value("hodei_auth_refusals_total", {"status": status}) or 0.0


async def test_no_token_is_unauthenticated_and_says_what_to_send(
    daemon: Daemon, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "hodeid.api.auth")
    before = refusals("UNAUTHENTICATED")
    async with channel_for(daemon, role=None) as channel:
        error = await refused(v1.JobServiceStub(channel).list_jobs(v1.ListJobsRequest()))
    assert error.status is Status.UNAUTHENTICATED
    assert error.message and "authorization: Bearer <token>" in error.message
    assert "HODEI_TOKEN" in error.message
    assert refusals("UNAUTHENTICATED") == before + 1
    refused_line = r"/hodei.v1.JobService/ListJobs from 127\.0\.0\.1:\d+ refused: no bearer token"
    assert re.search(refused_line, caplog.text)


async def test_a_streaming_rpc_is_checked_before_it_streams(daemon: Daemon) -> None:
    async with channel_for(daemon, role=None) as channel:
        stream = v1.LogServiceStub(channel).stream_logs(v1.StreamLogsRequest(job_id="x", follow=True))
        error = await refused(anext(aiter(stream)))
    assert error.status is Status.UNAUTHENTICATED


@pytest.mark.parametrize(
    "header",
    ["Bearer hodei_0123456789ab.not-the-secret-of-any-token", "Bearer nonsense", "Basic abc", "Bearer "],
)
async def test_a_wrong_token_is_unauthenticated(daemon: Daemon, header: str) -> None:
    async with channel_for(daemon, role=None) as channel:
        stub = v1.JobServiceStub(channel, metadata={"authorization": header})
        error = await refused(stub.list_jobs(v1.ListJobsRequest()))
    assert error.status is Status.UNAUTHENTICATED
    assert error.message


async def test_a_read_token_reads_but_may_not_submit(daemon: Daemon) -> None:
    async with channel_for(daemon, role=Role.READ) as channel:
        jobs = v1.JobServiceStub(channel)
        assert (await jobs.list_jobs(v1.ListJobsRequest())).jobs == []
        assert (await v1.WorkerServiceStub(channel).list_workers(v1.ListWorkersRequest())).workers == []
        before = refusals("PERMISSION_DENIED")
        error = await refused(jobs.submit_job(v1.SubmitJobRequest(spec=SPEC)))
    assert refusals("PERMISSION_DENIED") == before + 1
    assert error.status is Status.PERMISSION_DENIED
    assert error.message == (
        "/hodei.v1.JobService/SubmitJob needs a token of role admin; token test-read has role read "
        "(an operator can make one with 'hodeid token create --role admin')"
    )


async def test_a_read_token_sees_env_names_without_values_and_an_admin_sees_both(daemon: Daemon) -> None:
    spec = v1.JobSpec(command=["true"], env={"PASSWORD": "hunter2", "EMPTY": ""})
    async with channel_for(daemon, role=Role.ADMIN) as admin, channel_for(daemon, role=Role.READ) as reader:
        submitted = (await v1.JobServiceStub(admin).submit_job(v1.SubmitJobRequest(spec=spec))).job
        assert submitted is not None and submitted.spec is not None
        assert submitted.spec.env == spec.env
        seen: dict[str, dict[str, str]] = {}
        for who, channel in (("admin", admin), ("read", reader)):
            jobs = v1.JobServiceStub(channel)
            got = await jobs.get_job(v1.GetJobRequest(id=submitted.id))
            listed = (await jobs.list_jobs(v1.ListJobsRequest())).jobs
            async with asyncio.timeout(10):
                watched = await anext(aiter(jobs.watch_jobs(v1.WatchJobsRequest())))
            envs = [job.spec.env for job in (got, *listed, watched.job) if job and job.spec]
            assert len(envs) == 3 and envs[0] == envs[1] == envs[2], who
            seen[who] = envs[0]
    assert seen["admin"] == {"PASSWORD": "hunter2", "EMPTY": ""}
    assert seen["read"] == {"PASSWORD": "***", "EMPTY": "***"}


async def test_a_revoked_token_is_refused_at_its_next_call(daemon: Daemon) -> None:
    row, token = await daemon.api_tokens.create("ci", Role.ADMIN)
    async with channel_for(daemon, role=None) as channel:
        bearer(channel, token)
        jobs = v1.JobServiceStub(channel)
        await jobs.list_jobs(v1.ListJobsRequest())
        await daemon.api_tokens.revoke("ci")
        error = await refused(jobs.list_jobs(v1.ListJobsRequest()))
    assert error.status is Status.UNAUTHENTICATED
    assert error.message and f"token ci ({row.id}) was revoked" in error.message


async def test_tokens_are_stored_hashed(daemon: Daemon, pool: asyncpg.Pool) -> None:
    _, token = await daemon.api_tokens.create("stored", Role.READ)
    secret = token.partition(".")[2]
    stored = await pool.fetchrow("SELECT * FROM api_tokens WHERE name = 'stored'")
    assert stored is not None
    assert secret.encode() not in bytes(stored["secret_sha256"])
    assert secret not in " ".join(str(v) for v in stored.values())


async def test_pending_jobs_are_limited_per_token(daemon: Daemon) -> None:
    async with channel_for(daemon, name="one") as first, channel_for(daemon, name="two") as second:
        for _ in range(2):
            await v1.JobServiceStub(first).submit_job(v1.SubmitJobRequest(spec=SPEC))
        error = await refused(v1.JobServiceStub(first).submit_job(v1.SubmitJobRequest(spec=SPEC)))
        # Another token has its own allowance.
        await v1.JobServiceStub(second).submit_job(v1.SubmitJobRequest(spec=SPEC))
    assert error.status is Status.RESOURCE_EXHAUSTED
    assert error.message and "limits.max_pending_per_submitter" in error.message


async def test_a_resubmission_at_the_limit_gets_its_job_back(daemon: Daemon) -> None:
    keyed = v1.JobSpec(name="keyed", command=["true"], idempotency_key="nightly-1")
    async with channel_for(daemon, name="one") as channel:
        jobs = v1.JobServiceStub(channel)
        first = await jobs.submit_job(v1.SubmitJobRequest(spec=keyed))
        await jobs.submit_job(v1.SubmitJobRequest(spec=SPEC))  # now at the limit of 2
        again = await jobs.submit_job(v1.SubmitJobRequest(spec=keyed))
        error = await refused(jobs.submit_job(v1.SubmitJobRequest(spec=SPEC)))
    assert first.job is not None and again.job is not None
    assert again.existing and again.job.id == first.job.id
    assert error.status is Status.RESOURCE_EXHAUSTED


async def test_a_worker_stream_needs_no_bearer_token(daemon: Daemon) -> None:
    hello = v1.Hello(worker_id="w1", slots=1, credential=new_credential())
    async with channel_for(daemon, role=None) as channel:
        stream = v1.WorkerServiceStub(channel).connect([v1.WorkerMessage(hello=hello)])
        async with asyncio.timeout(10):
            first = await anext(aiter(stream))
    assert first.welcome is not None


@pytest.mark.parametrize(
    ("hello", "phrase"),
    [
        (
            v1.Hello(worker_id="w", slots=1, labels={f"k{i}": "v" for i in range(65)}),
            "limits.max_worker_labels",
        ),
        (v1.Hello(worker_id="w", slots=1, labels={"k": "v" * 2000}), "limits.max_label_bytes"),
        (v1.Hello(worker_id="w" * 2000, slots=1), "limits.max_label_bytes"),
    ],
)
async def test_a_hello_over_the_limits_is_refused_naming_the_limit(
    daemon: Daemon, hello: v1.Hello, phrase: str
) -> None:
    async with channel_for(daemon, role=None) as channel:
        stream = v1.WorkerServiceStub(channel).connect([v1.WorkerMessage(hello=hello)])
        error = await refused(anext(aiter(stream)))
    assert error.status is Status.INVALID_ARGUMENT
    assert error.message and phrase in error.message
