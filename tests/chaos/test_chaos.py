"""Failure handling with real processes: each scenario (tests/support/chaos.py, which
scripts/chaos/run.py repeats) breaks a running system for real and must lose nothing."""

from __future__ import annotations

import signal

import pytest

from tests.support import chaos
from tests.support.chaos import Stage, Tally


def clean(tally: Tally) -> None:
    assert tally.clean(), "\n".join([str(tally.losses()), *tally.notes])


def test_worker_kill9_job_completes_on_attempt_2_and_attempt_1_is_lost(stage: Stage) -> None:
    clean(chaos.worker_killed(stage))


def test_stream_cut_shorter_than_grace_same_attempt_whole_log_no_duplicates(stage: Stage) -> None:
    clean(chaos.stream_cut(stage))


def test_hodeid_kill9_and_restart_job_completes_with_whole_log(stage: Stage) -> None:
    clean(chaos.daemon_killed(stage))


def test_postgresql_restart_under_running_jobs_loses_nothing(embedded_stage: Stage) -> None:
    clean(chaos.postgres_restarted(embedded_stage))


def test_cancel_of_a_process_tree_leaves_nothing_behind(stage: Stage) -> None:
    clean(chaos.cancel_process_tree(stage))


def test_timeout_of_a_job_ignoring_sigterm_is_timed_out_after_the_grace(stage: Stage) -> None:
    clean(chaos.timeout_ignoring_term(stage))


def test_two_hodeid_kill9_of_the_workers_daemon_mid_job_succeeds_on_attempt_1_whole_log(stage: Stage) -> None:
    clean(chaos.holder_killed(stage))


def test_two_hodeid_a_job_outliving_the_grace_on_one_daemons_worker_succeeds_on_attempt_1(
    stage: Stage,
) -> None:
    clean(chaos.outlives_grace(stage))


# 30 jobs, two restarts and every log read through the CLI: about a minute on a busy machine.
@pytest.mark.timeout(300)
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["kill-9", "sigterm"])
def test_two_hodeid_restarted_in_turn_under_a_flow_of_jobs_lose_nothing(stage: Stage, sig: int) -> None:
    clean(chaos.restarted_under_flow(stage, sig))
