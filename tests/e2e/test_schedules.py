"""Schedules with real hodeid and hodei-worker processes, through the ``hodei`` CLI: an
interval fires runs that succeed and stops at delete; a cron schedule's next run is listed in
local time; two daemons on one database fire each planned run once; bad input is refused, and
a read-only token may only list and get."""

from __future__ import annotations

import itertools
import time
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.support.jobs import cli_json
from tests.support.processes import Cluster


def runs(c: Cluster, name: str) -> list[dict[str, object]]:
    """The jobs of the schedule's runs, oldest planned first."""
    jobs = cli_json(c, "job", "list", "--all")
    assert isinstance(jobs, list)
    found = [dict(j) for j in jobs if j["schedule"] == name]
    return sorted(found, key=lambda j: str(j["planned_at"]))


def wait_runs(
    c: Cluster, name: str, count: int, timeout: float, state: str | None = None
) -> list[dict[str, object]]:
    """Poll until the schedule has ``count`` runs (in ``state``, if given) or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while True:
        found = [j for j in runs(c, name) if state in (None, j["state"])]
        if len(found) >= count:
            return found
        assert time.monotonic() < deadline, f"{len(found)} runs of {name} after {timeout:g} s\n{c.logs()}"
        time.sleep(0.1)


def schedules(c: Cluster) -> list[dict[str, Any]]:
    """``hodei schedule list -o json``."""
    listed = cli_json(c, "schedule", "list")
    assert isinstance(listed, list)
    return listed


def create(c: Cluster, *args: str) -> None:
    made = c.hodei("schedule", "create", *args)
    assert made.returncode == 0, made.stderr


def test_an_interval_schedule_runs_until_deleted(system: Cluster) -> None:
    create(system, "x", "--every", "2s", "--", "echo", "tick")
    succeeded = wait_runs(system, "x", 2, timeout=7.0, state="SUCCEEDED")
    job = cli_json(system, "job", "get", str(succeeded[0]["id"]))
    assert isinstance(job, dict)
    assert (job["name"], job["schedule"], job["command"]) == ("x", "x", ["echo", "tick"])
    assert job["planned_at"] is not None
    shown = system.hodei("job", "get", str(succeeded[0]["id"]))
    assert "schedule:" in shown.stdout.decode() and "planned:" in shown.stdout.decode()
    logs = system.hodei("job", "logs", str(succeeded[0]["id"]))
    assert logs.stdout == b"tick\n"

    deleted = system.hodei("schedule", "delete", "x")
    assert deleted.returncode == 0, deleted.stderr
    before = len(runs(system, "x"))
    # Another schedule firing three times spans more than x's interval: x would have fired.
    create(system, "witness", "--every", "1s", "--overlap", "allow", "--", "true")
    wait_runs(system, "witness", 3, timeout=30.0)
    assert len(runs(system, "x")) == before
    gone = system.hodei("schedule", "get", "x")
    assert gone.returncode == 125
    assert b"no schedule named 'x' (see hodei schedule list)" in gone.stderr


def test_schedule_list_shows_a_cron_schedules_next_run_in_local_time(bare: Cluster) -> None:
    create(bare, "nightly", "--cron", "0 3 * * *", "--timezone", "Europe/Madrid", "--", "echo", "backup")
    [listed] = schedules(bare)
    assert listed["expression"] == "cron 0 3 * * * Europe/Madrid"
    next_run = datetime.fromisoformat(listed["next_run"])
    madrid = next_run.astimezone(ZoneInfo("Europe/Madrid"))
    assert (madrid.hour, madrid.minute) == (3, 0)
    assert timedelta(0) < next_run - datetime.now(next_run.tzinfo) <= timedelta(days=1)
    assert listed["paused"] is False and listed["last_job_id"] is None

    table = bare.hodei("schedule", "list", env={"TZ": "Asia/Tokyo"})
    assert table.returncode == 0, table.stderr
    header, row = table.stdout.decode().splitlines()
    assert header.split() == ["NAME", "SCHEDULE", "NEXT", "RUN", "LAST", "JOB", "LAST", "STATE", "PAUSED"]
    tokyo = next_run.astimezone(ZoneInfo("Asia/Tokyo")).strftime("%Y-%m-%d %H:%M:%S JST")
    assert row.startswith("nightly") and tokyo in row, row

    paused = bare.hodei("schedule", "pause", "nightly")
    assert paused.returncode == 0, paused.stderr
    [listed] = schedules(bare)
    assert listed["paused"] is True and listed["next_run"] is None
    run = bare.hodei("schedule", "run", "nightly")
    assert run.returncode == 0, run.stderr
    [listed] = schedules(bare)
    assert listed["last_job_id"] == run.stdout.decode().strip()
    assert listed["last_job_state"] == "PENDING"


def test_two_daemons_fire_each_planned_run_once(pair: tuple[Cluster, Cluster]) -> None:
    a, b = pair
    create(b, "pulse", "--every", "1s", "--overlap", "allow", "--", "true")
    fired = wait_runs(a, "pulse", 20, timeout=60.0)
    planned = [datetime.fromisoformat(str(j["planned_at"])) for j in fired]
    assert len(set(planned)) == len(planned), "a planned run fired twice"
    # Planned times keep to the 1 s grid (a leader held up past a planned time fires that run
    # late, once, and moves on: the gap is then a few whole seconds).
    gaps = [later - earlier for earlier, later in itertools.pairwise(planned)]
    assert all(gap >= timedelta(seconds=1) and gap.total_seconds() % 1 == 0 for gap in gaps), gaps


def test_bad_schedules_are_refused_with_what_to_write(bare: Cluster) -> None:
    for args, words in (
        (["bad", "--cron", "0 25 * * *"], "cron expression '0 25 * * *' is not valid: write five fields"),
        (["bad", "--cron", "0 3 * * *", "--timezone", "Mars/Base"], "unknown time zone 'Mars/Base'"),
        (["bad", "--every", "0s"], "the duration must be more than zero"),
        (["bad", "--every", "soon"], "expected a duration, got 'soon'"),
        (["bad", "--every", "1h", "--name", "n"], "drop --name"),
        (["bad", "--every", "1h"], "schedule create needs a command after --"),
    ):
        refused = bare.hodei("schedule", "create", *args, *(["--", "true"] if args[-1] != "1h" else []))
        assert refused.returncode == 125, refused
        assert words in refused.stderr.decode(), refused.stderr
    create(bare, "twice", "--every", "1h", "--", "true")
    again = bare.hodei("schedule", "create", "twice", "--every", "1h", "--", "true")
    assert again.returncode == 125
    assert "a schedule named 'twice' exists already" in again.stderr.decode()
    made = bare.hodeid("token", "create", "--role", "read", "--name", "viewer")
    assert made.returncode == 0, made.stderr
    reader = {"HODEI_TOKEN": made.stdout.decode().strip()}
    assert bare.hodei("schedule", "list", env=reader).returncode == 0
    assert bare.hodei("schedule", "get", "twice", env=reader).returncode == 0
    for command in (["create", "r", "--every", "1h", "--", "true"], ["pause", "twice"], ["run", "twice"]):
        denied = bare.hodei("schedule", *command, env=reader)
        assert denied.returncode == 125
        assert "needs a token of role admin; token viewer has role read" in denied.stderr.decode()
    unknown = bare.hodei("schedule", "delete", "nope")
    assert unknown.returncode == 125
    assert "no schedule named 'nope'" in unknown.stderr.decode()
