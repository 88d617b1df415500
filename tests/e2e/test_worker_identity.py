"""Per-worker identity with real processes: the join token cannot take over a hand-started
worker, a restarted worker keeps its id and credential, a daemon killed before its Welcome
reached the worker does not lock the id, and ``hodeid worker forget``."""

from __future__ import annotations

import asyncio
import stat
import subprocess
import time
from pathlib import Path

from grpclib.client import Channel
from grpclib.const import Cardinality
from grpclib.exceptions import GRPCError

from hodei_api import v1
from hodei_api.loglines import pack
from hodei_worker.session import CONNECT
from hodei_worker.state import StateDir
from tests.support.jobs import detach, job_json, live_worker
from tests.support.processes import Cluster, stop
from tests.support.scripted_worker import out

TERMINAL = {"SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT"}


def wait_state(c: Cluster, job_id: str, states: set[str], timeout: float = 30.0) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while (job := job_json(c, job_id))["state"] not in states:
        assert time.monotonic() < deadline, f"job {job_id} is {job['state']}, not in {states}"
        time.sleep(0.1)
    return job


def exited(proc: subprocess.Popen[bytes], timeout: float = 30.0) -> int:
    return proc.wait(timeout)


async def impersonate(c: Cluster, worker_id: str, job_id: str) -> str:
    """Claim ``worker_id`` and its running attempt with the cluster join token, as anyone who
    holds it could; if the daemon lets the stream in, forge a log line and a success."""
    channel = Channel("127.0.0.1", c.port)
    try:
        stub = v1.WorkerServiceStub(channel)
        outbox: asyncio.Queue[v1.WorkerMessage | None] = asyncio.Queue()
        hello = v1.Hello(
            worker_id=worker_id, hostname="elsewhere", slots=1, resources=v1.Resources(cpu=1, memory_mb=64),
            running=[v1.RunningAttempt(job_id=job_id, attempt=1)],
            token=(c.data_dir / "join.token").read_text().strip(),
        )  # fmt: skip

        async def messages() -> object:
            yield v1.WorkerMessage(hello=hello)
            while (message := await outbox.get()) is not None:
                yield message

        try:
            async with asyncio.timeout(20):
                async for message in stub.connect(messages()):  # type: ignore[arg-type]
                    if message.welcome is not None:
                        forged = v1.LogBatch(job_id=job_id, attempt=1, lines=pack([out(1, "forged\n")]))
                        outbox.put_nowait(v1.WorkerMessage(log_batch=forged))
                        won = v1.AttemptOutcome.SUCCEEDED
                        done = v1.Finished(job_id=job_id, attempt=1, outcome=won, exit_code=0, last_seq=1)
                        outbox.put_nowait(v1.WorkerMessage(finished=done))
                    if message.ack is not None and message.ack.applied >= 2:
                        outbox.put_nowait(None)
                        return "taken over"
        except GRPCError as exc:
            return f"{exc.status.name}: {exc.message}"
        return "stream ended"
    finally:
        channel.close()


def test_the_join_token_cannot_take_over_a_hand_started_worker(bare: Cluster, job_dir: Path) -> None:
    worker = bare.start_worker("--id", "hand-1")
    live_worker(bare, "hand-1")
    go = job_dir / "go"
    script = f"while [ ! -e {go} ]; do sleep 0.05; done; echo real; exit 7"
    job_id = detach(bare, "--", "sh", "-c", script)
    wait_state(bare, job_id, {"RUNNING"})

    outcome = asyncio.run(impersonate(bare, "hand-1", job_id))
    go.touch()

    job = wait_state(bare, job_id, TERMINAL)
    assert (job["state"], job["exit_code"]) == ("FAILED", 7), outcome
    assert bare.hodei("job", "logs", job_id).stdout == b"real\n"
    assert outcome.startswith("UNAUTHENTICATED: worker id 'hand-1' belongs to a worker"), outcome
    assert "hodeid worker forget hand-1" in outcome
    # The real worker's stream was never closed: still live, never reconnected.
    assert live_worker(bare, "hand-1")["reconnects"] == 0 and worker.poll() is None
    assert "worker stream refused for id 'hand-1'" in (bare.log_dir / "hodeid.log").read_text()


def test_a_restarted_worker_keeps_its_id_and_credential(bare: Cluster, tmp_path: Path) -> None:
    state = tmp_path / "kept-state"
    first = bare.start_worker(state_dir=state)
    worker_id = str(live_worker(bare)["id"])
    assert (state / "worker-id").read_text().strip() == worker_id
    credential = state / f"{worker_id}.credential"
    assert credential.read_text().startswith("hodei-wc-")
    assert stat.S_IMODE(state.stat().st_mode) == 0o700 and stat.S_IMODE(credential.stat().st_mode) == 0o600
    stop(first)
    assert exited(first) == 0

    again = bare.start_worker(state_dir=state)
    job_id = detach(bare, "--", "echo", "back")
    assert wait_state(bare, job_id, TERMINAL)["worker_id"] == worker_id
    assert again.poll() is None and live_worker(bare, worker_id)["reconnects"] == 1


def test_another_state_dir_cannot_claim_the_id_until_it_is_forgotten(bare: Cluster, tmp_path: Path) -> None:
    real = bare.start_worker("--id", "hand-2", state_dir=tmp_path / "real")
    live_worker(bare, "hand-2")
    stop(real)

    other_state = tmp_path / "other"
    other = bare.start_worker("--id", "hand-2", state_dir=other_state)
    assert exited(other) == 1  # told once, not retried forever
    said = (bare.log_dir / "worker-1.log").read_text()
    assert said.count("UNAUTHENTICATED") == 1 and "hodeid worker forget hand-2" in said, said
    assert f"credential file: {other_state / 'hand-2.credential'}" in said

    forgot = bare.hodeid("worker", "forget", "hand-2")
    assert forgot.returncode == 0, forgot.stderr
    assert b"forgot the credential of worker 'hand-2'" in forgot.stdout
    again = bare.hodeid("worker", "forget", "hand-2")
    assert again.returncode == 1 and b"has no credential" in again.stderr

    bare.start_worker("--id", "hand-2", state_dir=other_state)
    live_worker(bare, "hand-2")
    assert (other_state / "hand-2.credential").read_text().startswith("hodei-wc-")
    # The old holder is the stranger now.
    old = bare.start_worker("--id", "hand-2", state_dir=tmp_path / "real")
    assert exited(old) == 1


async def hello_then_daemon_killed(c: Cluster, worker_id: str, credential: str) -> None:
    """Say Hello as ``worker_id`` with ``credential``, then kill -9 the daemon once it has let
    the worker in, before the worker reads anything (the Welcome is lost)."""
    channel = Channel("127.0.0.1", c.port)
    try:
        hello = v1.Hello(
            worker_id=worker_id, hostname="here", slots=1, resources=v1.Resources(cpu=1, memory_mb=64),
            token=(c.data_dir / "join.token").read_text().strip(), credential=credential,
        )  # fmt: skip
        connect = channel.request(CONNECT, Cardinality.STREAM_STREAM, v1.WorkerMessage, v1.DaemonMessage)
        async with connect as cut:
            await cut.send_message(v1.WorkerMessage(hello=hello))
            deadline = time.monotonic() + 30
            while f"worker {worker_id} connected" not in (c.log_dir / "hodeid.log").read_text():
                assert time.monotonic() < deadline, c.logs()
                await asyncio.sleep(0.05)
            c.restart_daemon()
            await cut.cancel()
    finally:
        channel.close()


def test_a_welcome_lost_to_a_killed_daemon_does_not_lock_the_id(bare: Cluster, tmp_path: Path) -> None:
    state = tmp_path / "state"
    # What hodei-worker does before its first Hello: make its credential and keep it.
    credential = StateDir(state).credential("hand-4")
    asyncio.run(hello_then_daemon_killed(bare, "hand-4", credential))

    worker = bare.start_worker("--id", "hand-4", state_dir=state)
    live_worker(bare, "hand-4")
    job_id = detach(bare, "--", "echo", "in")
    assert wait_state(bare, job_id, TERMINAL)["worker_id"] == "hand-4"
    assert worker.poll() is None and "refused" not in (bare.log_dir / "hodeid.log").read_text()
