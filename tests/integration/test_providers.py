"""Providers through the Daemon on real PostgreSQL: a job no worker fits makes a provider
create one and waits unclaimed until it connects; a queue never starts more than max; a
worker that does not connect in time makes the provider fail and back off; idle workers
are drained and destroyed; a join token admits once."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import asyncpg
import pytest
from grpclib.const import Status
from grpclib.exceptions import GRPCError

from hodei_api import v1
from hodeid.config import SchedulerSettings
from hodeid.control.daemon import Daemon
from hodeid.control.providers.base import Limits, Provider
from hodeid.control.registry import Session
from hodeid.control.tokens import JoinTokens, digest
from hodeid.domain.scaling import Offer
from hodeid.errors import ProviderError, Unauthenticated
from tests.integration.conftest import StartDaemon
from tests.support.auth import channel_for
from tests.support.database import age_join_tokens

SETTINGS = SchedulerSettings(tick_seconds=0.05, heartbeat_interval_seconds=60)
R = v1.PlacementReason


class FakeProvider(Provider):
    """Records what it is asked; its workers connect only when the test says so."""

    kind = "fake"

    def __init__(self, limits: Limits, fail: str = "") -> None:
        super().__init__("fake", Offer(labels={"pool": "fake"}, slots=1, cpu=2, memory_mb=1024), limits)
        self.fail = fail
        self.tokens: dict[str, str] = {}
        self.destroyed: list[str] = []

    async def create(self, worker_id: str, token: str) -> None:
        if self.fail:
            raise ProviderError(self.fail)
        self.tokens[worker_id] = token

    async def destroy(self, worker_id: str) -> None:
        self.destroyed.append(worker_id)


@pytest.fixture
def start(start_daemon: StartDaemon) -> Callable[[FakeProvider], Awaitable[Daemon]]:
    """Start a daemon whose one provider is ``provider``."""
    return lambda provider: start_daemon(SETTINGS, [provider])


def hello(worker_id: str, token: str) -> v1.Hello:
    resources = v1.Resources(cpu=2, memory_mb=1024)
    return v1.Hello(
        worker_id=worker_id, hostname="h", slots=1, resources=resources, labels={"pool": "fake"}, token=token
    )


async def connect(daemon: Daemon, worker_id: str, token: str) -> Session:
    session, _ = await daemon.sessions.attach(hello(worker_id, token))
    return session


def counts(daemon: Daemon) -> list[tuple[int, int]]:
    """Each provider's (provisioning, connected)."""
    return [(i.provisioning, i.connected) for i in daemon.providers()]


async def submit(daemon: Daemon, count: int = 1) -> list[v1.Job]:
    return [(await daemon.submit(v1.JobSpec(command=["true"])))[0] for _ in range(count)]


async def eventually(check: Callable[[], object], timeout: float = 30) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.02)


async def test_a_job_waits_unclaimed_for_the_worker_a_provider_creates(
    start: Callable[..., Awaitable[Daemon]],
) -> None:
    provider = FakeProvider(Limits(max=3))
    daemon = await start(provider)
    [job] = await submit(daemon)
    await eventually(lambda: provider.tokens)
    job = await daemon.get(job.id)
    assert (job.state, job.worker_id) == (v1.JobState.PENDING, "")
    explained = await daemon.explain(job.id)
    now = explained.decisions[0]
    assert now.outcome is v1.PlacementOutcome.PROVISION
    assert [(v.target, v.reason, v.message) for v in now.verdicts] == [
        ("fake", R.FITS, "would create worker with labels {pool=fake}")
    ]
    [info] = daemon.providers()
    assert (info.name, info.kind, info.provisioning, info.connected) == ("fake", "fake", 1, 0)
    [(worker_id, token)] = provider.tokens.items()
    await connect(daemon, worker_id, token)
    await eventually(lambda: daemon.registry.get(worker_id) and daemon.registry.get(worker_id).running)  # type: ignore[union-attr]
    assert (await daemon.get(job.id)).worker_id == worker_id
    await eventually(lambda: [(i.provisioning, i.connected) for i in daemon.providers()] == [(0, 1)])


async def test_a_queue_never_provisions_more_than_max(start: Callable[..., Awaitable[Daemon]]) -> None:
    provider = FakeProvider(Limits(max=2))
    daemon = await start(provider)
    jobs = await submit(daemon, 10)
    await eventually(lambda: len(provider.tokens) == 2)
    await asyncio.sleep(0.3)  # several ticks see the same queue
    assert len(provider.tokens) == 2
    now = (await daemon.explain(jobs[-1].id)).decisions[0]
    assert now.outcome is v1.PlacementOutcome.PROVISION
    assert now.verdicts[0].message == "at max 2; 2 worker(s) starting"
    for worker_id, token in provider.tokens.items():
        await connect(daemon, worker_id, token)
    await eventually(lambda: sum(len(s.running) for s in daemon.registry.live()) == 2)
    await asyncio.sleep(0.3)
    assert len(provider.tokens) == 2
    now = (await daemon.explain(jobs[-1].id)).decisions[0]
    assert (now.outcome, now.verdicts[-1].reason) == (v1.PlacementOutcome.WAITING, R.PROVIDER_AT_MAX)


async def test_a_worker_that_does_not_connect_in_time_fails_the_provider(
    start: Callable[..., Awaitable[Daemon]],
) -> None:
    provider = FakeProvider(Limits(max=2, provisioning_timeout=0.2))
    daemon = await start(provider)
    [job] = await submit(daemon)
    await eventually(lambda: provider.destroyed)
    [worker_id] = provider.destroyed
    [info] = daemon.providers()
    assert info.last_error == f"worker {worker_id} did not connect within 0.2 s"
    assert info.failures == 1 and info.retry_in_seconds > 0
    now = (await daemon.explain(job.id)).decisions[0]
    assert (await daemon.get(job.id)).state is v1.JobState.PENDING
    assert now.outcome is v1.PlacementOutcome.WAITING
    assert now.verdicts[0].reason is R.PROVIDER_FAILING
    assert now.verdicts[0].message.startswith(
        f"failing: worker {worker_id} did not connect within 0.2 s; next try"
    )
    # Its token died with it (revoked beside the scheduler).
    stored = daemon.tokens.store
    async with asyncio.timeout(30):
        while not (row := await stored.get(digest(provider.tokens[worker_id]))) or not row.revoked:
            await asyncio.sleep(0.02)
    with pytest.raises(Unauthenticated, match="was revoked"):
        await connect(daemon, worker_id, provider.tokens[worker_id])


async def test_a_failing_create_is_recorded_and_backed_off(start: Callable[..., Awaitable[Daemon]]) -> None:
    provider = FakeProvider(Limits(max=5), fail="create command exited with 3: no quota")
    daemon = await start(provider)
    [job] = await submit(daemon)
    await eventually(lambda: daemon.providers()[0].failures)
    await asyncio.sleep(0.3)  # within the first back-off second: no second try
    [info] = daemon.providers()
    assert (info.failures, info.last_error) == (1, "create command exited with 3: no quota")
    now = (await daemon.explain(job.id)).decisions[0]
    assert now.verdicts[0].reason is R.PROVIDER_FAILING
    assert "create command exited with 3: no quota" in now.verdicts[0].message


async def test_idle_workers_above_min_are_drained_then_destroyed(
    start: Callable[..., Awaitable[Daemon]],
) -> None:
    provider = FakeProvider(Limits(min=0, max=2, idle_timeout=0.2))
    daemon = await start(provider)
    [job] = await submit(daemon)
    await eventually(lambda: provider.tokens)
    [(worker_id, token)] = provider.tokens.items()
    session = await connect(daemon, worker_id, token)
    await eventually(lambda: session.running)
    await asyncio.sleep(0.3)
    assert not session.draining  # busy: not idle
    for key in list(session.running):  # as the job's Finished report does
        daemon.ledger.release(key)
    await eventually(lambda: session.draining)
    sent = []
    while not session.outbox.empty():
        sent.append(session.outbox.get_nowait())
    assert any(m is not None and m.drain == v1.Drain(stay=False) for m in sent)
    daemon.sessions.detach(session)  # the drained worker exits
    await eventually(lambda: provider.destroyed == [worker_id])
    assert daemon.providers()[0].connected == 0
    del job


async def test_a_join_token_admits_once(start: Callable[..., Awaitable[Daemon]]) -> None:
    provider = FakeProvider(Limits(max=1))
    daemon = await start(provider)
    await submit(daemon)
    await eventually(lambda: provider.tokens)
    [(worker_id, token)] = provider.tokens.items()
    session = await connect(daemon, worker_id, token)
    daemon.sessions.detach(session)
    with pytest.raises(Unauthenticated, match="already used"):
        await connect(daemon, worker_id, token)


async def refusal(daemon: Daemon, hello: v1.Hello) -> GRPCError:
    """How the Connect stream refuses ``hello``."""
    # A worker stream needs no bearer token: its Hello carries the join token.
    async with channel_for(daemon, role=None) as channel:
        stream = v1.WorkerServiceStub(channel).connect([v1.WorkerMessage(hello=hello)])
        with pytest.raises(GRPCError) as raised:
            await anext(aiter(stream))
    return raised.value


async def test_a_used_or_expired_token_is_refused_on_the_stream_as_unauthenticated(
    pool: asyncpg.Pool,
) -> None:
    tokens = JoinTokens(pool, ttl_seconds=300)
    daemon = Daemon(pool, SETTINGS, [], tokens)
    used, expired = await tokens.issue("w1"), await tokens.issue("w2")
    await tokens.admit(v1.Hello(worker_id="w1", token=used))
    await age_join_tokens(pool, 301)
    error = await refusal(daemon, v1.Hello(worker_id="w1", slots=1, token=used))
    assert error.status is Status.UNAUTHENTICATED
    assert error.message == "worker w1: join token was already used; each one admits one worker once"
    error = await refusal(daemon, v1.Hello(worker_id="w2", slots=1, token=expired))
    assert error.status is Status.UNAUTHENTICATED
    assert error.message == "worker w2: join token expired 300 s after it was issued"


async def test_only_the_leader_creates_the_workers_of_a_shared_provider(
    start: Callable[..., Awaitable[Daemon]],
) -> None:
    limits = Limits(max=3, provisioning_timeout=3)
    mine, theirs = FakeProvider(limits), FakeProvider(limits)
    leader = await start(mine)
    other = await start(theirs)
    assert leader.lease.leading and not other.lease.leading
    [job] = await submit(other)
    await eventually(lambda: mine.tokens)
    await other.scheduler.schedule()  # the other daemon sees the same job wait for the provider
    assert (len(mine.tokens), theirs.tokens) == (1, {})
    await leader.stop()
    # The lead passes on, and with it the provider's duties: the worker on its way is taken
    # over (it counts against the job's demand); it never connects, so the new leader
    # destroys it and creates another.
    await eventually(lambda: counts(other) == [(1, 0)])
    [worker_id] = mine.tokens
    await eventually(lambda: theirs.tokens)
    assert (theirs.destroyed, mine.destroyed) == ([worker_id], [])
    assert (await other.get(job.id)).state is v1.JobState.PENDING


async def test_the_leader_keeps_a_worker_it_created_that_streams_to_another_daemon(
    start_daemon: StartDaemon,
) -> None:
    provider = FakeProvider(Limits(max=1, provisioning_timeout=0.5))
    quick = SETTINGS.model_copy(update={"lease_seconds": 0.6})
    leader = await start_daemon(quick, [provider])
    other = await start_daemon(quick, [FakeProvider(Limits(max=1))])
    [job] = await submit(leader)
    await eventually(lambda: provider.tokens)
    [(worker_id, token)] = provider.tokens.items()
    session = await connect(other, worker_id, token)  # it was given the other daemon's address
    await eventually(lambda: [(i.provisioning, i.connected) for i in leader.providers()] == [(0, 1)])
    await eventually(lambda: other.registry.get(worker_id) and session.running)
    assert provider.destroyed == [] and leader.providers()[0].failures == 0
    assert (await other.get(job.id)).worker_id == worker_id


async def test_a_new_leader_takes_over_the_shared_workers_the_old_one_created(
    start_daemon: StartDaemon,
) -> None:
    # The leader dies or stops; its worker lives on and resumes on the other daemon, which
    # counts it against max, and destroys it once it is gone.
    quick = SETTINGS.model_copy(update={"lease_seconds": 0.6})
    limits = Limits(max=1, provisioning_timeout=3)
    theirs, mine = FakeProvider(limits), FakeProvider(limits)
    leader = await start_daemon(quick, [theirs])
    other = await start_daemon(quick, [mine])
    assert leader.lease.leading
    [job, waiting] = await submit(leader, 2)
    await eventually(lambda: theirs.tokens)
    [(worker_id, token)] = theirs.tokens.items()
    _, welcome = await leader.sessions.attach(hello(worker_id, token))
    await eventually(lambda: counts(leader) == [(0, 1)])
    await leader.stop()
    await eventually(lambda: other.lease.leading)
    await eventually(lambda: counts(other) == [(0, 1)])  # it joined once: connected
    assert theirs.destroyed == []
    session, _ = await other.sessions.attach(hello(worker_id, welcome.resume_token))
    for _ in range(3):  # the job that waits does not make it create a second worker
        other.fleet.tick()
        await other.scheduler.schedule()
    assert mine.tokens == {} and counts(other) == [(0, 1)]
    other.sessions.detach(session)  # and the worker never comes back
    await eventually(lambda: mine.destroyed == [worker_id])
    async with asyncio.timeout(30):
        while not (row := await other.tokens.store.get(digest(token))) or not row.revoked:
            await asyncio.sleep(0.02)
    del job, waiting


async def test_a_new_leader_drains_an_idle_worker_the_old_one_created(start_daemon: StartDaemon) -> None:
    quick = SETTINGS.model_copy(update={"lease_seconds": 0.6})
    limits = Limits(max=1, idle_timeout=0.2, provisioning_timeout=10)
    theirs, mine = FakeProvider(limits), FakeProvider(limits)
    leader = await start_daemon(quick, [theirs])
    other = await start_daemon(quick, [mine])
    [job] = await submit(leader)
    await eventually(lambda: theirs.tokens)
    [(worker_id, token)] = theirs.tokens.items()
    await leader.cancel(job.id, "not needed")
    await leader.stop()  # before the worker it created joined
    await eventually(lambda: counts(other) == [(1, 0)])
    assert theirs.destroyed == []
    session, _ = await other.sessions.attach(hello(worker_id, token))
    await eventually(lambda: session.draining)  # idle, above min
    other.sessions.detach(session)  # the drained worker exits
    await eventually(lambda: mine.destroyed == [worker_id])
    assert counts(other) == [(0, 0)]


async def test_a_daemon_that_loses_the_lead_forgets_the_shared_workers_without_destroying_them(
    start_daemon: StartDaemon, pool: asyncpg.Pool
) -> None:
    quick = SETTINGS.model_copy(update={"lease_seconds": 0.6})
    limits = Limits(max=1, provisioning_timeout=5)
    theirs, mine = FakeProvider(limits), FakeProvider(limits)
    leader = await start_daemon(quick, [theirs])
    other = await start_daemon(quick, [mine])
    [job] = await submit(leader)
    await eventually(lambda: theirs.tokens)
    [(worker_id, token)] = theirs.tokens.items()
    await connect(leader, worker_id, token)
    await eventually(lambda: counts(leader) == [(0, 1)])
    async with asyncio.timeout(30):
        # End the connection that holds its lock, as when it loses the database (again if it
        # takes the lock back first; never the other's).
        while not other.lease.leading:
            # The lock's connection goes back to the pool once ended: then look again.
            with contextlib.suppress(asyncpg.InterfaceError):
                if (held := leader.lease.lock._conn) is not None:
                    await pool.execute("SELECT pg_terminate_backend($1)", held.get_server_pid())
            await asyncio.sleep(0.1)
    # The worker streams to the old leader: the new one counts it, the old one forgets it.
    await eventually(lambda: counts(other) == [(0, 1)] and counts(leader) == [(0, 0)])
    assert (theirs.destroyed, mine.destroyed, mine.tokens) == ([], [], {})
    row = await other.tokens.store.get(digest(token))
    assert row is not None and not row.revoked
    del job
