"""Chaos scenarios, shared by ``tests/chaos`` and ``scripts/chaos/run.py``: each starts a real
system (``hodeid``, ``hodei-worker`` and the ``hodei`` CLI as processes on 127.0.0.1), breaks
something for real (kill -9, a cut TCP connection, a database restart, a cancel, a timeout) and
counts what came of its jobs in a ``Tally``."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import shutil
import signal
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import datetime
from functools import partial
from pathlib import Path

from grpclib.client import Channel
from grpclib.health.v1.health_grpc import HealthStub
from grpclib.health.v1.health_pb2 import HealthCheckRequest, HealthCheckResponse

from tests.support.database import EmbeddedPostgres
from tests.support.processes import Cluster, kill
from tests.support.procfs import group_left_after, group_members, kill_group
from tests.support.proxy import Proxy

# Liveness settings short enough for a scenario to take seconds (defaults: 5 s and 30 s).
FAST = {
    "HODEI_SCHEDULER__HEARTBEAT_INTERVAL_SECONDS": "0.5",
    "HODEI_SCHEDULER__TICK_SECONDS": "0.1",
}
LINES = 60
BURSTY = 3000
FINAL = {"SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT"}
_PGID = re.compile(r"pgid (\d+)")


def counting_job(
    lines: int = LINES, pause: float = 0.03, burst: int = 1, hold: Path | None = None, hold_at: int = 1
) -> list[str]:
    """A job that prints its process group, then ``line 1`` .. ``line N``, ``burst`` at a
    time with a ``pause`` after each burst; with ``hold``, it prints no line from ``hold_at``
    on while that file exists (so a scenario can break things while the job surely runs,
    however busy the machine)."""
    gate = f"if [ $i -eq {hold_at} ]; then while [ -e {hold} ]; do sleep 0.05; done; fi; " if hold else ""
    body = (
        f"i=1; while [ $i -le {lines} ]; do {gate}echo line $i; "
        f"if [ $((i % {burst})) -eq 0 ]; then sleep {pause}; fi; i=$((i+1)); done"
    )
    return ["sh", "-c", f"echo pgid $$; {body}"]


@contextmanager
def held() -> Iterator[Path]:
    """A file that holds ``counting_job(hold=...)`` back until it is removed, in a folder every
    job user may look into (a root worker runs jobs as nobody)."""
    folder = Path(tempfile.mkdtemp(prefix="hodei-hold-"))
    folder.chmod(0o755)
    hold = folder / "hold"
    hold.touch()
    try:
        yield hold
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@dataclass
class Tally:
    """What went wrong across a scenario's runs (every count 0 when all is well)."""

    runs: int = 0
    jobs: int = 0
    lost: int = 0
    """Jobs that never reached a terminal state, and submits that failed with a daemon up."""
    duplicate_lines: int = 0
    missing_lines: int = 0
    disordered_lines: int = 0
    """Lines stored (by sequence number) after a line the job printed later."""
    wrong_states: int = 0
    """Jobs that ended in the wrong state, or on the wrong attempt, or with the wrong record."""
    left_behind: int = 0
    """Processes of ended jobs still alive."""
    notes: list[str] = field(default_factory=list)

    def losses(self) -> dict[str, int]:
        return {
            f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("runs", "jobs", "notes")
        }

    def clean(self) -> bool:
        return not any(self.losses().values())

    def add(self, other: Tally) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def wrong(self, note: str) -> None:
        self.wrong_states += 1
        self.notes.append(note)


@dataclass
class Stage:
    """Where a scenario runs: a fresh database for each daemon, a directory for its logs, and
    for the database-restart scenario a PostgreSQL of its own."""

    new_database: Callable[[], str]
    log_dir: Path
    embedded: EmbeddedPostgres | None = None
    flow: int = 30
    """How many jobs a scenario under a flow of jobs submits (run.py: 200)."""


def _settings(settings: dict[str, str]) -> dict[str, str]:
    return {**FAST, **{f"HODEI_SCHEDULER__{k.upper()}": v for k, v in settings.items()}}


@contextmanager
def system(stage: Stage, database_url: str | None = None, **settings: str) -> Iterator[Cluster]:
    """A daemon with the fast liveness settings (plus ``settings``) on a fresh database."""
    cluster = Cluster(database_url or stage.new_database(), stage.log_dir)
    try:
        cluster.start_daemon(env=_settings(settings))
        yield cluster
    finally:
        cluster.close()


@contextmanager
def pair(stage: Stage, lists: bool = True, **settings: str) -> Iterator[tuple[Cluster, Cluster]]:
    """Two daemons, A and B, with the fast liveness settings (plus ``settings``) on one fresh
    database and one cluster join token, so a worker may join either. With ``lists``, the CLI
    of both is given ``HODEI_ADDR=A,B``; without, each its own daemon (as before clients took
    several addresses)."""
    database_url = stage.new_database()
    shared = {"HODEI_JOIN_TOKEN": "hodei-join-" + secrets.token_urlsafe(32)}
    a, b = (Cluster(database_url, stage.log_dir / name, extra_env=dict(shared)) for name in ("a", "b"))
    try:
        for c in (a, b):
            c.log_dir.mkdir(parents=True, exist_ok=True)
            c.start_daemon(env=_settings(settings))
        if lists:
            for c in (a, b):
                c.extra_env["HODEI_ADDR"] = f"{a.addr},{b.addr}"
        yield a, b
    finally:
        a.close()
        b.close()


def job_json(c: Cluster, job_id: str) -> dict[str, object] | None:
    """``hodei job get ID -o json``, or None while the daemon cannot answer."""
    result = c.hodei("job", "get", job_id, "-o", "json")
    if result.returncode != 0:
        return None
    data = json.loads(result.stdout)
    assert isinstance(data, dict)
    return data


def wait_job(
    c: Cluster, job_id: str, done: Callable[[dict[str, object]], bool], timeout: float
) -> dict[str, object] | None:
    """Poll until ``done(job)``; the job as it was last seen, or None if never seen."""
    deadline = time.monotonic() + timeout
    job = None
    while time.monotonic() < deadline:
        job = job_json(c, job_id) or job
        if job is not None and done(job):
            return job
        time.sleep(0.1)
    return job


def submit(c: Cluster, command: list[str], *flags: str) -> str:
    result = c.hodei("job", "run", "--detach", *flags, "--", *command)
    assert result.returncode == 0, result.stderr
    return result.stdout.decode().strip()


def log_lines(c: Cluster, job_id: str) -> list[dict[str, object]]:
    result = c.hodei("job", "logs", job_id, "-o", "jsonl")
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def wait_pgid(c: Cluster, job_id: str, timeout: float = 30.0) -> int | None:
    """The job's process group, once its first line is stored (so it runs and logs)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (pgid := pgid_in(log_lines(c, job_id))) is not None:
            return pgid
        time.sleep(0.1)
    return None


def pgid_in(stored: list[dict[str, object]]) -> int | None:
    """The process group a ``counting_job`` printed first, if its log holds it."""
    for line in stored:
        if (found := _PGID.fullmatch(str(line["line"]))) is not None:
            return int(found.group(1))
    return None


def wait_line(c: Cluster, job_id: str, text: str, timeout: float = 30.0) -> bool:
    """Whether the job's log holds the line ``text`` within ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(line["line"] == text for line in log_lines(c, job_id)):
            return True
        time.sleep(0.1)
    return False


def holder(clusters: tuple[Cluster, ...], worker_id: str, timeout: float = 30.0) -> Cluster:
    """The daemon the worker streams to (the one whose ``worker list``, its own live streams,
    names it), once one does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for c in clusters:
            result = c.hodei("worker", "list", "-o", "json", env={"HODEI_ADDR": c.addr})
            if result.returncode == 0 and any(w["id"] == worker_id for w in json.loads(result.stdout)):
                return c
        time.sleep(0.1)
    raise TimeoutError(f"no daemon listed worker {worker_id} within {timeout:g} s")


def wait_workers(c: Cluster, count: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = c.hodei("worker", "list", "-o", "json")
        if result.returncode == 0 and len(json.loads(result.stdout)) >= count:
            return
        time.sleep(0.1)
    raise TimeoutError(f"{count} workers did not connect within {timeout:g} s")


def check_log(tally: Tally, c: Cluster, job_id: str, attempt: int, lines: int = LINES) -> None:
    """Count the lines ``line 1`` .. ``line N`` the attempt's stored log misses, repeats or
    holds out of order."""
    check_lines(tally, job_id, log_lines(c, job_id), attempt, lines)


def check_lines(
    tally: Tally, job_id: str, stored: list[dict[str, object]], attempt: int, lines: int = LINES
) -> None:
    """``check_log`` of a log already read."""
    seqs = [line["seq"] for line in stored]
    if len(seqs) != len(set(seqs)):
        tally.duplicate_lines += len(seqs) - len(set(seqs))
        tally.notes.append(f"job {job_id}: a sequence number stored twice")
    ours = Counter(
        str(line["line"]) for line in stored if line["attempt"] == attempt and line["stream"] == "stdout"
    )
    counts = [ours[f"line {i}"] for i in range(1, lines + 1)]
    missing = [i for i, n in enumerate(counts, 1) if n == 0]
    twice = [i for i, n in enumerate(counts, 1) if n > 1]
    tally.missing_lines += len(missing)
    tally.duplicate_lines += sum(n - 1 for n in counts if n > 1)
    if missing or twice:
        tally.notes.append(f"job {job_id} attempt {attempt}: lines missing {missing}, repeated {twice}")
    printed = [
        int(text[5:])
        for line in sorted(stored, key=lambda line: int(str(line["seq"])))
        if line["attempt"] == attempt and (text := str(line["line"])).startswith("line ")
    ]
    late, highest = [], 0
    for n in printed:
        if n < highest:
            late.append(n)
        highest = max(highest, n)
    if late:
        tally.disordered_lines += len(late)
        tally.notes.append(f"job {job_id} attempt {attempt}: lines {late[:10]} stored after later ones")
    if any(line["stream"] == "system" for line in stored):
        tally.notes.append(f"job {job_id}: a gap marker in its log")


def ended(tally: Tally, c: Cluster, job_id: str, timeout: float = 60.0) -> dict[str, object] | None:
    """The job once terminal; counted lost (and None) if it never gets there."""
    job = wait_job(c, job_id, lambda j: j["state"] in FINAL, timeout)
    if job is None or job["state"] not in FINAL:
        tally.lost += 1
        tally.notes.append(f"job {job_id} never ended: {job and job['state']}")
        return None
    return job


def expect(tally: Tally, job: dict[str, object], state: str, outcomes: list[str]) -> None:
    """The job ended ``state`` with attempts whose outcomes are ``outcomes``, in order."""
    attempts = job["attempts"]
    assert isinstance(attempts, list)
    seen = [a["outcome"] for a in attempts]
    if job["state"] != state or seen != outcomes:
        tally.wrong(f"job {job['id']}: {job['state']} with attempts {seen}, wanted {state} with {outcomes}")


def _seconds(start: object, end: object) -> float:
    return (datetime.fromisoformat(str(end)) - datetime.fromisoformat(str(start))).total_seconds()


def health(addr: str) -> str:
    """The daemon's overall grpc.health.v1 status (``UNKNOWN`` if it does not answer)."""

    async def check() -> str:
        host, port = addr.rsplit(":", 1)
        channel = Channel(host, int(port))
        try:
            response = await HealthStub(channel).Check(HealthCheckRequest(service=""), timeout=5)
        except (OSError, TimeoutError):
            return "UNKNOWN"
        finally:
            channel.close()
        assert response is not None
        return str(HealthCheckResponse.ServingStatus.Name(response.status))

    return asyncio.run(check())


def worker_killed(stage: Stage) -> Tally:
    """kill -9 of the worker running a job while a second worker is there: the job completes
    on attempt 2 on the other worker, attempt 1 is recorded LOST."""
    tally = Tally(runs=1, jobs=1)
    with system(stage, lost_grace_seconds="1.5") as c, held() as hold:
        workers = {wid: c.start_worker("--id", wid) for wid in ("w1", "w2")}
        wait_workers(c, 2)
        # Held until the kill: on a busy machine the job could otherwise end before it.
        job_id = submit(c, counting_job(hold=hold), "--retries", "1")
        pgid = wait_pgid(c, job_id)
        first = job_json(c, job_id)
        if pgid is None or first is None or first["worker_id"] not in workers:
            tally.lost += 1
            tally.notes.append(f"job {job_id} never ran: {first}")
            return tally
        kill(workers[str(first["worker_id"])])
        kill_group(pgid)  # its orphaned job would die of SIGPIPE at its next line anyway
        hold.unlink()  # attempt 2 runs through
        if (job := ended(tally, c, job_id)) is not None:
            expect(tally, job, "SUCCEEDED", ["LOST", "SUCCEEDED"])
            attempts = job["attempts"]
            assert isinstance(attempts, list)
            if attempts[-1]["worker_id"] == first["worker_id"]:
                tally.wrong(f"job {job_id}: attempt 2 ran on the killed worker {first['worker_id']}")
            check_log(tally, c, job_id, attempt=len(attempts))
    return tally


def stream_cut(stage: Stage) -> Tally:
    """The worker's TCP connection cut twice mid-job, each time for less than the grace: the
    job finishes on the same attempt with its whole log, no line twice."""
    tally = Tally(runs=1, jobs=1)
    with system(stage, lost_grace_seconds="10") as c:
        proxy = Proxy(c.port)
        try:
            c.start_worker("--id", "w1", server=proxy.addr)
            wait_workers(c, 1)
            # Bursts of lines, so that some are on their way whenever the connection is cut.
            job_id = submit(c, counting_job(lines=BURSTY, pause=0.05, burst=50))
            if wait_pgid(c, job_id) is None:
                tally.lost += 1
                return tally
            for cuts in (1, 2):
                time.sleep(0.4)
                proxy.cut()
                deadline = time.monotonic() + 10
                while proxy.connections <= cuts and time.monotonic() < deadline:
                    time.sleep(0.02)
            if (job := ended(tally, c, job_id)) is not None:
                expect(tally, job, "SUCCEEDED", ["SUCCEEDED"])
                check_log(tally, c, job_id, attempt=1, lines=BURSTY)
        finally:
            proxy.close()
    return tally


def daemon_killed(stage: Stage) -> Tally:
    """kill -9 of hodeid mid-job and a restart: the worker reconnects, the daemon resumes the
    attempt, the job completes with its whole log."""
    tally = Tally(runs=1, jobs=1)
    with system(stage, lost_grace_seconds="10") as c:
        c.start_worker("--id", "w1")
        wait_workers(c, 1)
        job_id = submit(c, counting_job(lines=BURSTY, pause=0.05, burst=50))
        if wait_pgid(c, job_id) is None:
            tally.lost += 1
            return tally
        time.sleep(0.4)
        c.restart_daemon()
        if (job := ended(tally, c, job_id)) is not None:
            expect(tally, job, "SUCCEEDED", ["SUCCEEDED"])
            check_log(tally, c, job_id, attempt=1, lines=BURSTY)
    return tally


def postgres_restarted(stage: Stage) -> Tally:
    """PostgreSQL stopped and started again under three running jobs: the daemon stays up,
    reports NOT_SERVING meanwhile, and every job completes on its attempt with its whole log."""
    assert stage.embedded is not None, "this scenario restarts a PostgreSQL of its own"
    pg = stage.embedded
    jobs = 3
    tally = Tally(runs=1, jobs=jobs)
    with system(stage, pg.create_database()) as c:
        c.start_worker("--id", "w1", "--slots", str(jobs))
        wait_workers(c, 1)
        ids = [submit(c, counting_job(lines=LINES, pause=0.05)) for _ in range(jobs)]
        for job_id in ids:
            wait_pgid(c, job_id)
        pg.stop()
        try:
            deadline = time.monotonic() + 15
            while (status := health(c.addr)) != "NOT_SERVING" and time.monotonic() < deadline:
                time.sleep(0.2)
            if status != "NOT_SERVING":
                tally.wrong(f"health said {status} while PostgreSQL was down")
            time.sleep(1.0)
        finally:
            pg.start()
        assert c.daemon is not None
        if c.daemon.poll() is not None:
            tally.wrong(f"hodeid exited with {c.daemon.returncode} while PostgreSQL was down")
            return tally
        for job_id in ids:
            if (job := ended(tally, c, job_id)) is not None:
                expect(tally, job, "SUCCEEDED", ["SUCCEEDED"])
                check_log(tally, c, job_id, attempt=1)
        if (status := health(c.addr)) != "SERVING":
            tally.wrong(f"health said {status} after PostgreSQL came back")
    return tally


def cancel_process_tree(stage: Stage) -> Tally:
    """Cancel of ``sh -c 'sleep 100 & sleep 100'``: CANCELLED, and nothing of it left alive."""
    tally = Tally(runs=1, jobs=1)
    with system(stage) as c:
        c.start_worker("--id", "w1")
        wait_workers(c, 1)
        job_id = submit(c, ["sh", "-c", "echo pgid $$; sleep 100 & sleep 100"], "--kill-grace", "5")
        if (pgid := wait_pgid(c, job_id)) is None:
            tally.lost += 1
            return tally
        try:
            deadline = time.monotonic() + 10
            while len(group_members(pgid)) < 2 and time.monotonic() < deadline:
                time.sleep(0.02)
            cancelled = c.hodei("job", "cancel", job_id)
            if cancelled.returncode != 0:
                tally.wrong(f"hodei job cancel failed: {cancelled.stderr.decode()}")
            if (job := ended(tally, c, job_id, timeout=20)) is not None:
                expect(tally, job, "CANCELLED", ["CANCELLED"])
            count_left_behind(tally, job_id, pgid)
        finally:
            kill_group(pgid)
    return tally


def count_left_behind(tally: Tally, job_id: str, pgid: int) -> None:
    """Count the processes of the job's group still alive 5 s after it ended."""
    if left := group_left_after(pgid, 5.0):
        tally.left_behind += len(left)
        tally.notes.append(f"job {job_id}: processes {left} of group {pgid} still alive")


TIMEOUT, GRACE = 1.0, 1.5


def timeout_ignoring_term(stage: Stage) -> Tally:
    """A job that ignores SIGTERM and outlives its timeout: killed after the grace, TIMED_OUT."""
    tally = Tally(runs=1, jobs=1)
    with system(stage) as c:
        c.start_worker("--id", "w1")
        wait_workers(c, 1)
        command = ["sh", "-c", "trap '' TERM; echo pgid $$; sleep 100 & sleep 100"]
        job_id = submit(c, command, "--timeout", f"{TIMEOUT:g}", "--kill-grace", f"{GRACE:g}")
        if (pgid := wait_pgid(c, job_id)) is None:
            tally.lost += 1
            return tally
        try:
            if (job := ended(tally, c, job_id, timeout=30)) is not None:
                expect(tally, job, "TIMED_OUT", ["TIMED_OUT"])
                attempts = job["attempts"]
                assert isinstance(attempts, list)
                ran = _seconds(attempts[0]["started_at"], attempts[0]["finished_at"])
                # Killed no sooner than TERM at the timeout plus the grace (clock granularity aside).
                if ran < TIMEOUT + GRACE - 0.1:
                    tally.wrong(f"job {job_id} ended {ran:.2f} s after it started, before its grace")
            count_left_behind(tally, job_id, pgid)
        finally:
            kill_group(pgid)
    return tally


def holder_killed(stage: Stage) -> Tally:
    """Two daemons and a worker given both (``--server A,B``): kill -9 of the daemon it streams
    to while the job's output flows. The worker takes the attempt to the other daemon, and the
    job ends SUCCEEDED on attempt 1 with every line once, in order."""
    tally = Tally(runs=1, jobs=1)
    with pair(stage, lost_grace_seconds="10") as (a, b), held() as hold:
        a.start_worker("--id", "w1", server=f"{a.addr},{b.addr}")
        held_by = holder((a, b), "w1")
        # Bursts, so that lines are on their way at the kill; held two thirds in, so that the
        # job cannot end before the kill however busy the machine.
        job_id = submit(a, counting_job(lines=BURSTY, pause=0.05, burst=50, hold=hold, hold_at=2001))
        pgid = wait_pgid(a, job_id)
        if pgid is None or not wait_line(a, job_id, "line 500"):
            tally.lost += 1
            tally.notes.append(f"job {job_id} did not run")
            return tally
        assert held_by.daemon is not None
        kill(held_by.daemon)
        hold.unlink()
        if (job := ended(tally, a, job_id)) is not None:
            expect(tally, job, "SUCCEEDED", ["SUCCEEDED"])
            check_log(tally, a, job_id, attempt=1, lines=BURSTY)
        count_left_behind(tally, job_id, pgid)
    return tally


SHORT_GRACE = 2.0
MISJUDGED_AFTER = 4
"""Grace periods the other daemon is given to misjudge a running attempt as lost."""


def outlives_grace(stage: Stage) -> Tally:
    """Two daemons with a short lost grace; a job on daemon A's worker runs for several grace
    periods while daemon B runs (the failure of issue 13: B, which holds no stream of that
    worker, settled the attempt LOST). It ends SUCCEEDED on attempt 1 with its whole log. The
    job is held until B has had ``MISJUDGED_AFTER`` grace periods (and as many of its reaper's
    passes) to misjudge it; clients and the worker each use one daemon, as before they could
    be given several, so that the scenario runs on the code of the issue too."""
    tally = Tally(runs=1, jobs=1)
    with pair(stage, lists=False, lost_grace_seconds=f"{SHORT_GRACE:g}") as (a, b), held() as hold:
        a.start_worker("--id", "w1")
        wait_workers(a, 1)
        job_id = submit(a, counting_job(hold=hold))
        if (pgid := wait_pgid(a, job_id)) is None:
            tally.lost += 1
            tally.notes.append(f"job {job_id} did not run")
            return tally
        deadline = time.monotonic() + MISJUDGED_AFTER * SHORT_GRACE
        while time.monotonic() < deadline:
            if (job := job_json(b, job_id)) is not None and job["state"] != "RUNNING":
                break  # misjudged already: no need to wait out the rest
            time.sleep(0.2)
        hold.unlink()
        if (job := ended(tally, b, job_id)) is not None:
            expect(tally, job, "SUCCEEDED", ["SUCCEEDED"])
            check_log(tally, b, job_id, attempt=1)
        count_left_behind(tally, job_id, pgid)
    return tally


FLOW_LINES = 20
SUBMITTERS = 4


def restarted_under_flow(stage: Stage, sig: int) -> Tally:
    """Two daemons, each with a worker given both (``--server A,B`` and ``B,A``), and
    ``stage.flow`` jobs submitted through ``HODEI_ADDR=A,B``: daemon A is ended with ``sig``
    and started again a third of the way through the submits, daemon B two thirds of the way.
    Every job ends SUCCEEDED once (a dispatch the dying daemon sent but no worker acknowledged
    may be requeued first), with its whole log, and leaves nothing running."""
    jobs = stage.flow
    tally = Tally(runs=1, jobs=jobs)
    with pair(stage, lost_grace_seconds="10") as (a, b):
        a.start_worker("--id", "w1", "--slots", "4", server=f"{a.addr},{b.addr}")
        b.start_worker("--id", "w2", "--slots", "4", server=f"{b.addr},{a.addr}")
        holder((a,), "w1")
        holder((b,), "w2")
        # About 2 s each, so that several run at each restart.
        command = counting_job(lines=FLOW_LINES, pause=0.1)
        ids: list[str] = []
        with ThreadPoolExecutor(SUBMITTERS) as pool:
            submits = [pool.submit(a.hodei, "job", "run", "--detach", "--", *command) for _ in range(jobs)]
            restarts = {jobs // 3: a, 2 * jobs // 3: b}
            for count, done in enumerate(as_completed(submits), 1):
                result = done.result()
                if result.returncode == 0:
                    ids.append(result.stdout.decode().strip())
                else:
                    tally.lost += 1
                    tally.notes.append(f"a submit failed: {result.stderr.decode().strip()}")
                if (c := restarts.pop(count, None)) is not None:
                    c.restart_daemon(sig)
                    serving(tally, c)
        listed = ended_jobs(tally, a, ids)
        # SUCCEEDED on attempt 1 says all (that attempt ended the job); the record of any
        # other is read in full.
        again = [j for j, job in listed.items() if (job["state"], job["attempt"]) != ("SUCCEEDED", 1)]
        with ThreadPoolExecutor(SUBMITTERS) as pool:
            logs = dict(zip(listed, pool.map(partial(log_lines, a), listed), strict=True))
            full = dict(zip(again, pool.map(partial(job_json, a), again), strict=True))
        for job_id, job in listed.items():
            ran = int(str(job["attempt"]))
            if job_id in full:
                if (record := full[job_id]) is None:
                    tally.wrong(f"job {job_id}: hodei job get failed")
                    continue
                expect(tally, record, "SUCCEEDED", ["NOT_ACKNOWLEDGED"] * (ran - 1) + ["SUCCEEDED"])
            check_lines(tally, job_id, logs[job_id], attempt=ran, lines=FLOW_LINES)
            if others := [line for line in logs[job_id] if line["attempt"] != ran]:
                tally.duplicate_lines += len(others)
                tally.notes.append(f"job {job_id}: {len(others)} lines of an attempt that did not end it")
            if (pgid := pgid_in(logs[job_id])) is not None:
                count_left_behind(tally, job_id, pgid)
    return tally


def serving(tally: Tally, c: Cluster, timeout: float = 30.0) -> None:
    """Wait until the restarted daemon reports SERVING (it has its lease and its database)."""
    deadline = time.monotonic() + timeout
    while (status := health(c.addr)) != "SERVING":
        if time.monotonic() > deadline:
            tally.wrong(f"hodeid {c.addr} said {status} {timeout:g} s after its restart")
            return
        time.sleep(0.1)


def ended_jobs(
    tally: Tally, c: Cluster, ids: list[str], timeout: float = 120.0
) -> dict[str, dict[str, object]]:
    """Wait until every job of ``ids`` is terminal; each as ``hodei job list --all`` shows it
    (without its attempts). The ones that never got there are counted lost."""
    deadline = time.monotonic() + timeout
    wanted = set(ids)
    ended: dict[str, dict[str, object]] = {}
    while len(ended) < len(ids) and time.monotonic() < deadline:
        result = c.hodei("job", "list", "--all", "-o", "json")
        if result.returncode == 0:
            ended |= {
                j["id"]: j for j in json.loads(result.stdout) if j["id"] in wanted and j["state"] in FINAL
            }
        if len(ended) < len(ids):
            time.sleep(0.5)
    for job_id in wanted - set(ended):
        tally.lost += 1
        tally.notes.append(f"job {job_id} never ended")
    return ended


SCENARIOS: dict[str, Callable[[Stage], Tally]] = {
    "worker kill -9": worker_killed,
    "stream cut < grace": stream_cut,
    "hodeid kill -9 + restart": daemon_killed,
    "PostgreSQL restart": postgres_restarted,
    "cancel process tree": cancel_process_tree,
    "timeout ignoring TERM": timeout_ignoring_term,
    "2 hodeid, worker's one kill -9": holder_killed,
    "2 hodeid, job outlives grace": outlives_grace,
    "2 hodeid kill -9 in turn, flow": partial(restarted_under_flow, sig=signal.SIGKILL),
    "2 hodeid SIGTERM in turn, flow": partial(restarted_under_flow, sig=signal.SIGTERM),
}
