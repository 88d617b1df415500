"""Clients of several daemons on one database, with real processes: with the first daemon
killed (-9) `hodei job run` runs on the next; `job run` and `job logs -f` following through a
daemon that is killed mid-output resume on the other and write the output whole, in order,
each line once. The job's worker streams to the daemon that stays, so the job is undisturbed."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path

from tests.support.jobs import cli_json
from tests.support.processes import BIN, Cluster, kill

DEADLINE = 60.0
# Output in two parts with a pause between them that the test ends, so that the daemon the
# followers use is killed with the job's output half written.
TWO_PARTS = (
    'for i in $(seq 1 300); do echo "line $i"; done; '
    'while [ ! -e "$1" ]; do sleep 0.05; done; '
    'for i in $(seq 301 600); do echo "line $i"; done'
)
EXPECTED = b"".join(b"line %d\n" % i for i in range(1, 601))


class Following:
    """``hodei ARGS`` against the daemons at ``addrs``, running on, its stdout read as it
    comes; ended by its PID on exit."""

    def __init__(self, c: Cluster, addrs: str, *args: str) -> None:
        self.proc = subprocess.Popen(
            [str(BIN / "hodei"), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**c.env(), "HODEI_ADDR": addrs},
        )
        self.out = bytearray()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        # os.read: what the pipe holds now, without waiting to fill a buffer.
        while chunk := os.read(self.proc.stdout.fileno(), 65536):
            self.out += chunk

    def wait_for(self, what: bytes) -> None:
        deadline = time.monotonic() + DEADLINE
        while what not in self.out:
            assert time.monotonic() < deadline, f"no {what!r} within {DEADLINE} s; got {bytes(self.out)!r}"
            time.sleep(0.05)

    def finish(self) -> tuple[int, bytes, bytes]:
        """Its exit status, whole stdout and stderr."""
        assert self.proc.stderr is not None
        err = self.proc.stderr.read()
        self._reader.join(DEADLINE)
        return self.proc.wait(DEADLINE), bytes(self.out), err

    def __enter__(self) -> Following:
        return self

    def __exit__(self, *exc: object) -> None:
        kill(self.proc)
        self._reader.join(DEADLINE)
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()


def test_job_run_goes_to_the_next_daemon_when_the_first_is_dead(pair: tuple[Cluster, Cluster]) -> None:
    a, b = pair
    b.start_worker("--id", "w-b")
    assert a.daemon is not None
    kill(a.daemon)
    done = b.hodei("job", "run", "--", "echo", "hi", env={"HODEI_ADDR": f"{a.addr},{b.addr}"})
    assert (done.returncode, done.stdout) == (0, b"hi\n"), done.stderr


def test_followers_resume_on_the_other_daemon_when_theirs_is_killed(
    pair: tuple[Cluster, Cluster], job_dir: Path
) -> None:
    a, b = pair
    b.start_worker("--id", "w-b")
    both = f"{a.addr},{b.addr}"
    go = job_dir / "go"
    with Following(a, both, "job", "run", "--", "sh", "-c", TWO_PARTS, "sh", str(go)) as runner:
        deadline = time.monotonic() + DEADLINE
        while not (jobs := cli_json(b, "job", "list")):
            assert time.monotonic() < deadline, "the job was not submitted"
            time.sleep(0.1)
        assert isinstance(jobs, list)
        [job] = jobs
        with Following(a, both, "job", "logs", "-f", job["id"]) as follower:
            # Both follow through A, the first address, which answers; the worker is B's.
            runner.wait_for(b"line 1\n")
            follower.wait_for(b"line 1\n")
            assert a.daemon is not None
            kill(a.daemon)
            go.touch()
            ran, followed = runner.finish(), follower.finish()
    assert ran[:2] == (0, EXPECTED), ran[2]
    assert followed[:2] == (0, EXPECTED), followed[2]
    finished = cli_json(b, "job", "get", job["id"])
    assert isinstance(finished, dict)
    assert (finished["state"], finished["attempt"]) == ("SUCCEEDED", 1)
