"""Job output that is not text, or whose lines are too long, reaches followers intact."""

from __future__ import annotations

import json

from tests.support.jobs import detach
from tests.support.processes import Cluster

# Invalid UTF-8, a NUL, a lone continuation byte, a truncated sequence, then a normal line.
BINARY = b"a\xff\x00b\n\x80\xe2\x82\nplain\n"
# Every byte as an octal escape of printf: sh, not this test's Python, which may live where the
# job's user (nobody, under a root worker) may not go.
WRITE_BINARY = ["printf", "".join(f"\\{byte:03o}" for byte in BINARY)]


def test_invalid_utf8_and_nul_bytes_reach_a_follower_as_written(system: Cluster) -> None:
    run = system.hodei("job", "run", "--", *WRITE_BINARY)
    assert (run.stdout, run.returncode) == (BINARY, 0), run.stderr
    job_id = detach(system, "--", *WRITE_BINARY)
    followed = system.hodei("job", "logs", job_id, "-f")
    assert (followed.stdout, followed.returncode) == (BINARY, 0), followed.stderr
    jsonl = system.hodei("job", "logs", job_id, "-o", "jsonl")
    lines = [json.loads(line) for line in jsonl.stdout.decode().splitlines()]
    assert [line["line"] for line in lines] == ["a\ufffd\x00b", "\ufffd\ufffd", "plain"]


def test_a_line_over_the_limit_is_split_and_marked(system: Cluster) -> None:
    script = "head -c 150000 /dev/zero | tr '\\0' x; echo; echo after"
    run = system.hodei("job", "run", "--", "sh", "-c", script)
    assert (run.stdout, run.returncode) == (b"x" * 150_000 + b"\nafter\n", 0), run.stderr
    assert (
        b"stdout line of 150001 bytes is over the 65536-byte line limit: split into lines 1-3" in run.stderr
    )
