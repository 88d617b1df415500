"""``hodeid --metrics-listen``: a real daemon serves valid Prometheus text with the series
the issue names, and they move when a job runs."""

from __future__ import annotations

import time

from tests.support.jobs import detach
from tests.support.metrics import scrape
from tests.support.processes import Cluster, free_port, wait_port


def test_metrics_show_jobs_queue_latency_decisions_workers_and_logs(bare: Cluster) -> None:
    port = free_port()
    bare.close()
    daemon = bare.start_daemon("--metrics-listen", f"127.0.0.1:{port}")
    # Metrics are served once the gRPC listener is up: wait for them too.
    wait_port(port, daemon)
    before = scrape(port)
    assert before[("hodei_queue_depth", ())] == 0
    assert before[("hodei_jobs", (("state", "SUCCEEDED"),))] == 0
    assert before[("hodei_job_start_latency_seconds_count", ())] == 0
    bare.start_worker("--slots", "1")
    result = bare.hodei("job", "run", "--", "echo", "measured")
    assert result.returncode == 0, result.stderr
    deadline = time.monotonic() + 30
    while (after := scrape(port))[("hodei_jobs", (("state", "SUCCEEDED"),))] != 1:
        assert time.monotonic() < deadline, "hodei_jobs{state=SUCCEEDED} never reached 1"
        time.sleep(0.2)
    assert after[("hodei_queue_depth", ())] == 0
    assert after[("hodei_workers", (("state", "ready"),))] == 1
    assert after[("hodei_job_start_latency_seconds_count", ())] == 1
    assert after[("hodei_decisions_total", (("outcome", "PLACED"), ("reason", "FITS")))] >= 1
    assert after[("hodei_database_seconds_count", ())] > before[("hodei_database_seconds_count", ())]
    assert ("hodei_workers", (("state", "draining"),)) in after
    assert after[("hodei_log_lines_total", ())] == 1
    assert after[("hodei_log_bytes_total", ())] == len(b"measured\n")
    detach(bare, "--selector", "gpu=true", "--", "true")
    while not (unplaceable := decisions(scrape(port), "UNPLACEABLE")):
        assert time.monotonic() < deadline + 30, "no UNPLACEABLE decision counted"
        time.sleep(0.2)
    assert set(unplaceable) <= {"SELECTOR_MISMATCH", "NO_PROVIDER"}
    while scrape(port)[("hodei_queue_depth", ())] != 1:
        assert time.monotonic() < deadline + 30, "the queue depth never showed the waiting job"
        time.sleep(0.2)


def decisions(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], outcome: str
) -> dict[str, float]:
    """``hodei_decisions_total`` of ``outcome``, by reason."""
    found = {}
    for (name, labels), value in samples.items():
        tags = dict(labels)
        if name == "hodei_decisions_total" and tags.get("outcome") == outcome:
            found[tags["reason"]] = value
    return found
