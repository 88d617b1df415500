"""``hodei daemon list`` and ``worker list`` against two real hodeid processes on one database:
each daemon is listed with its address, its worker and the lead, the one that answered
marked; a read-only token may list them; the worker on the other daemon is listed from the
record, and a daemon killed -9 is listed as lapsed once its lease runs out."""

from __future__ import annotations

import json
import time

from tests.support.jobs import cli_json, live_worker
from tests.support.processes import Cluster, kill


def daemons(c: Cluster, **env: str) -> list[dict[str, object]]:
    result = c.hodei("daemon", "list", "-o", "json", env=env)
    assert result.returncode == 0, result.stderr
    listed: list[dict[str, object]] = json.loads(result.stdout)
    return listed


def test_daemon_list_names_both_daemons_their_workers_the_leader_and_which_answered(
    pair: tuple[Cluster, Cluster],
) -> None:
    a, b = pair
    a.start_worker("--id", "w-a")
    b.start_worker("--id", "w-b")
    live_worker(a, "w-a")
    live_worker(b, "w-b")
    made = a.hodeid("token", "create", "--role", "read", "--name", "viewer")
    assert made.returncode == 0, made.stderr
    listed = daemons(b, HODEI_TOKEN=made.stdout.decode().strip())
    assert [(d["address"], d["workers"], d["live"]) for d in listed] == [
        (a.addr, ["w-a"], True),
        (b.addr, ["w-b"], True),
    ]
    assert [d["leader"] for d in listed] == [True, False], "the first started leads"
    assert [d["answered"] for d in listed] == [False, True]
    assert len({d["version"] for d in listed}) == 1
    table = b.hodei("daemon", "list")
    assert table.returncode == 0, table.stderr
    rows = table.stdout.decode().splitlines()
    assert rows[2].split()[0] == f"{str(listed[1]['id'])[:8]}*" and rows[-1] == "* answered this call"
    workers = cli_json(a, "worker", "list")
    assert isinstance(workers, list)
    on_a = {w["id"]: w for w in workers}
    assert (on_a["w-a"]["daemon_id"], on_a["w-a"]["from_record"]) == (listed[0]["id"], False)
    assert (on_a["w-b"]["daemon_id"], on_a["w-b"]["from_record"]) == (listed[1]["id"], True)


def test_a_daemon_killed_is_listed_as_lapsed_and_the_lead_passes(pair: tuple[Cluster, Cluster]) -> None:
    a, b = pair
    assert a.daemon is not None
    kill(a.daemon)
    # Its lease (15 s by default) runs out by the database's clock; b takes the lead.
    deadline = time.monotonic() + 60
    while True:
        seen = {d["address"]: d for d in daemons(b)}
        if not seen[a.addr]["live"] and seen[b.addr]["leader"]:
            break
        assert time.monotonic() < deadline, f"{seen}\n{b.logs()}"
        time.sleep(0.2)
    assert (seen[a.addr]["leader"], seen[a.addr]["stopped_at"]) == (False, None)
    table = b.hodei("daemon", "list")
    assert table.returncode == 0, table.stderr
    assert [row.split()[-1] for row in table.stdout.decode().splitlines()[1:-1]] == ["lapsed", "live"]
