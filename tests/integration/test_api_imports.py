"""``hodei_api.v1`` in a fresh interpreter: importing it leaves pydantic unloaded, and the
messages work as generated all the same."""

from __future__ import annotations

import subprocess
import sys

PROGRAM = """
import sys
from datetime import UTC, datetime

from hodei_api import v1

assert "pydantic" not in sys.modules, "betterproto2 loaded pydantic"

job = v1.Job(id="j", state=v1.JobState.RUNNING, created_at=datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC))
assert v1.Job.parse(bytes(job)) == job
assert v1.Job.from_dict(job.to_dict()) == job
assert "pydantic" not in sys.modules
print("ok")
"""


def test_v1_loads_no_pydantic_and_works() -> None:
    done = subprocess.run([sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (0, "ok\n", "")
