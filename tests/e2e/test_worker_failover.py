"""A worker given several daemons (``--server A,B``) with real processes: when the daemon it
streams to is killed -9 it attaches to the other, and an address that is not hodeid is named
and passed over."""

from __future__ import annotations

from tests.support.impostor import impostor
from tests.support.jobs import live_worker
from tests.support.processes import Cluster, kill


def run_hi(c: Cluster) -> None:
    ran = c.hodei("job", "run", "--", "echo", "hi")
    assert (ran.returncode, ran.stdout) == (0, b"hi\n"), ran.stderr


def test_a_worker_whose_daemon_is_killed_attaches_to_the_other(pair: tuple[Cluster, Cluster]) -> None:
    a, b = pair
    worker = a.start_worker("--id", "w-failover", server=f"{a.addr},{b.addr}")
    live_worker(a, "w-failover")
    assert a.daemon is not None
    kill(a.daemon)
    attached = live_worker(b, "w-failover")
    assert attached["reconnects"] == 1 and worker.poll() is None
    run_hi(b)


def test_an_address_that_is_not_hodeid_is_named_and_the_next_one_used(pair: tuple[Cluster, Cluster]) -> None:
    _, b = pair
    with impostor(b"-ERR unknown command 'PRI'\r\n") as (port, received):
        b.start_worker("--id", "w-next", server=f"127.0.0.1:{port},{b.addr}")
        live_worker(b, "w-next")
    log = (b.log_dir / "worker-0.log").read_text()
    assert f"127.0.0.1:{port} does not answer as hodeid (no HTTP/2" in log, log
    assert f"trying {b.addr}" in log
    assert all(b"hodei-join-" not in chunk for chunk in received)  # nothing secret was sent
    run_hi(b)
