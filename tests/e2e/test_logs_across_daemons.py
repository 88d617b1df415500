"""``hodei job logs -f`` on daemon B of a job whose worker streams to daemon A, real processes
on one database: each line reaches the follower while the job still runs (the job waits for
the test to see it), every line comes once and in order, and the follower ends with the job."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

from tests.support.jobs import detach
from tests.support.processes import BIN, Cluster

ROUNDS = 5
# A line the job writes while the follower waits reaches it in about 0.1 s (the worker's batch
# delay, then a notification); followers once waited up to 5 s, for their re-check of storage.
SEEN_WITHIN = 3.0
# For what may take long on a busy machine: the first line (the follower starts meanwhile), the
# rest of the output, the follower's exit.
DEADLINE = 60.0


async def test_a_follower_on_another_daemon_sees_each_line_while_the_job_runs(
    pair: tuple[Cluster, Cluster], job_dir: Path
) -> None:
    a, b = pair
    a.start_worker("--id", "w-a")
    # The job prints "ping R" and waits for the file pongR, which the test makes only once
    # the follower on B has shown it that line; then 200 lines, 10 ms apart.
    script = (
        f"for r in $(seq 1 {ROUNDS}); do echo ping $r;"
        f" while [ ! -e {job_dir}/pong$r ]; do sleep 0.01; done; done;"
        " for i in $(seq 1 200); do echo $i; sleep 0.01; done"
    )
    job_id = await asyncio.to_thread(detach, a, "--", "sh", "-c", script)
    follower = await asyncio.create_subprocess_exec(
        str(BIN / "hodei"), "job", "logs", "-f", job_id,
        env=b.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert follower.stdout is not None and follower.stderr is not None
    try:
        for r in range(1, ROUNDS + 1):
            line = await asyncio.wait_for(follower.stdout.readline(), DEADLINE if r == 1 else SEEN_WITHIN)
            assert line == f"ping {r}\n".encode()
            (job_dir / f"pong{r}").touch()
        rest = await asyncio.wait_for(follower.stdout.read(), DEADLINE)
        assert rest.decode().splitlines() == [str(i) for i in range(1, 201)]
        assert await asyncio.wait_for(follower.wait(), DEADLINE) == 0, await follower.stderr.read()
    finally:
        if follower.returncode is None:
            follower.kill()
            await follower.wait()
