"""settle(): what a job becomes when one of its attempts ends."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hodei_api.gen.hodei.v1 import AttemptOutcome, JobState
from hodeid.domain.retry import MAX_RETRY_DELAY, Settlement, settle
from hodeid.domain.states import can_transition

Out = AttemptOutcome
ENDS_AN_ATTEMPT = [Out.SUCCEEDED, Out.FAILED, Out.CANCELLED, Out.TIMED_OUT, Out.LOST, Out.NOT_ACKNOWLEDGED]


def _settle(
    outcome: AttemptOutcome,
    failures: int,
    max_retries: int,
    *,
    backoff: float = 10.0,
    jitter: float = 0.0,
    reason: str = "why",
) -> Settlement:
    return settle(
        outcome, failures=failures, max_retries=max_retries, backoff=backoff, reason=reason, jitter=jitter
    )


# outcome, failures before this attempt, max_retries -> state, add_failures, delay, reason
# (backoff 10 s, jitter 0: the delay is half of 10 * 2**failures).
CASES = [
    # Success and cancellation are final whatever the retry budget.
    ("succeeded-first", Out.SUCCEEDED, 0, 0, JobState.SUCCEEDED, 0, 0.0, "why"),
    ("succeeded-after-failures", Out.SUCCEEDED, 3, 3, JobState.SUCCEEDED, 0, 0.0, "why"),
    ("cancelled-retries-left", Out.CANCELLED, 0, 5, JobState.CANCELLED, 0, 0.0, "why"),
    ("cancelled-no-retries", Out.CANCELLED, 0, 0, JobState.CANCELLED, 0, 0.0, "why"),
    ("cancelled-budget-spent", Out.CANCELLED, 5, 5, JobState.CANCELLED, 0, 0.0, "why"),
    # An unacknowledged dispatch goes back to PENDING at once and never consumes a retry.
    ("not-acked-no-retries", Out.NOT_ACKNOWLEDGED, 0, 0, JobState.PENDING, 0, 0.0, "why"),
    ("not-acked-retries-left", Out.NOT_ACKNOWLEDGED, 1, 3, JobState.PENDING, 0, 0.0, "why"),
    ("not-acked-budget-spent", Out.NOT_ACKNOWLEDGED, 3, 3, JobState.PENDING, 0, 0.0, "why"),
    # No retries: the failure is final and the reason is left as given.
    ("failed-no-retries", Out.FAILED, 0, 0, JobState.FAILED, 1, 0.0, "why"),
    ("timed-out-no-retries", Out.TIMED_OUT, 0, 0, JobState.TIMED_OUT, 1, 0.0, "why"),
    ("lost-no-retries", Out.LOST, 0, 0, JobState.FAILED, 1, 0.0, "why"),
    # First retry.
    ("failed-first-retry", Out.FAILED, 0, 3, JobState.PENDING, 1, 5.0, "why; retry 1 of 3 in 5.0s"),
    ("timed-out-first-retry", Out.TIMED_OUT, 0, 3, JobState.PENDING, 1, 5.0, "why; retry 1 of 3 in 5.0s"),
    ("lost-first-retry", Out.LOST, 0, 3, JobState.PENDING, 1, 5.0, "why; retry 1 of 3 in 5.0s"),
    ("failed-only-retry", Out.FAILED, 0, 1, JobState.PENDING, 1, 5.0, "why; retry 1 of 1 in 5.0s"),
    # Middle and last retry.
    ("failed-second-retry", Out.FAILED, 1, 3, JobState.PENDING, 1, 10.0, "why; retry 2 of 3 in 10.0s"),
    ("failed-last-retry", Out.FAILED, 2, 3, JobState.PENDING, 1, 20.0, "why; retry 3 of 3 in 20.0s"),
    ("timed-out-last-retry", Out.TIMED_OUT, 1, 2, JobState.PENDING, 1, 10.0, "why; retry 2 of 2 in 10.0s"),
    ("lost-last-retry", Out.LOST, 2, 3, JobState.PENDING, 1, 20.0, "why; retry 3 of 3 in 20.0s"),
    # Budget spent: final, and the reason says so.
    ("failed-budget-spent", Out.FAILED, 3, 3, JobState.FAILED, 1, 0.0, "why; no retries left (3 used)"),
    ("failed-one-spent", Out.FAILED, 1, 1, JobState.FAILED, 1, 0.0, "why; no retries left (1 used)"),
    ("timed-out-spent", Out.TIMED_OUT, 2, 2, JobState.TIMED_OUT, 1, 0.0, "why; no retries left (2 used)"),
    ("lost-budget-spent", Out.LOST, 3, 3, JobState.FAILED, 1, 0.0, "why; no retries left (3 used)"),
    ("failed-over-budget", Out.FAILED, 7, 3, JobState.FAILED, 1, 0.0, "why; no retries left (3 used)"),
    ("failed-max-100", Out.FAILED, 100, 100, JobState.FAILED, 1, 0.0, "why; no retries left (100 used)"),
]


@pytest.mark.parametrize(
    ("outcome", "failures", "max_retries", "state", "add_failures", "delay", "reason"),
    [pytest.param(*case[1:], id=str(case[0])) for case in CASES],
)
def test_settle(
    outcome: AttemptOutcome,
    failures: int,
    max_retries: int,
    state: JobState,
    add_failures: int,
    delay: float,
    reason: str,
) -> None:
    got = _settle(outcome, failures, max_retries)
    assert isinstance(got, Settlement)
    assert (got.state, got.add_failures, got.reason) == (state, add_failures, reason)
    assert got.delay == pytest.approx(delay)


# With a cancel requested while the attempt ran, nothing runs again whatever the budget:
# outcome, failures, max_retries -> state, add_failures, reason.
CANCEL_REQUESTED = [
    ("succeeded", Out.SUCCEEDED, 0, 3, JobState.SUCCEEDED, 0, "why"),
    ("cancelled", Out.CANCELLED, 0, 3, JobState.CANCELLED, 0, "why"),
    ("lost-retries-left", Out.LOST, 0, 3, JobState.CANCELLED, 0, "asked; why"),
    ("lost-no-retries", Out.LOST, 0, 0, JobState.CANCELLED, 0, "asked; why"),
    ("not-acked", Out.NOT_ACKNOWLEDGED, 0, 3, JobState.CANCELLED, 0, "asked; why"),
    ("failed-retries-left", Out.FAILED, 0, 3, JobState.FAILED, 1, "why; not retried: cancel requested"),
    ("failed-budget-spent", Out.FAILED, 3, 3, JobState.FAILED, 1, "why; not retried: cancel requested"),
    (
        "timed-out-retries-left",
        Out.TIMED_OUT,
        1,
        3,
        JobState.TIMED_OUT,
        1,
        "why; not retried: cancel requested",
    ),
]


@pytest.mark.parametrize(
    ("outcome", "failures", "max_retries", "state", "add_failures", "reason"),
    [pytest.param(*case[1:], id=str(case[0])) for case in CANCEL_REQUESTED],
)
def test_settle_with_a_cancel_requested(
    outcome: AttemptOutcome, failures: int, max_retries: int, state: JobState, add_failures: int, reason: str
) -> None:
    got = settle(
        outcome, failures=failures, max_retries=max_retries, backoff=10.0, reason="why", jitter=0.0,
        cancel="asked",
    )  # fmt: skip
    assert (got.state, got.add_failures, got.delay, got.reason) == (state, add_failures, 0.0, reason)


def test_every_outcome_is_in_the_cancel_requested_table() -> None:
    assert {case[1] for case in CANCEL_REQUESTED} == set(ENDS_AN_ATTEMPT)


@pytest.mark.parametrize("cancel", ["", "asked"])
@pytest.mark.parametrize("outcome", [pytest.param(o, id=o.name) for o in (Out.UNSPECIFIED, Out.ACTIVE)])
def test_outcomes_that_do_not_end_an_attempt_are_refused(outcome: AttemptOutcome, cancel: str) -> None:
    with pytest.raises(ValueError, match=f"^attempt outcome {outcome.name} does not end an attempt$"):
        settle(outcome, failures=0, max_retries=3, backoff=1.0, reason="why", jitter=0.0, cancel=cancel)


def test_every_outcome_is_either_handled_or_refused() -> None:
    assert set(ENDS_AN_ATTEMPT) | {Out.UNSPECIFIED, Out.ACTIVE} == set(AttemptOutcome)


@pytest.mark.parametrize("max_retries", [0, 1, 5, 100])
@pytest.mark.parametrize("failures", [0, 1, 5, 100])
def test_not_acknowledged_never_consumes_a_retry(failures: int, max_retries: int) -> None:
    got = _settle(Out.NOT_ACKNOWLEDGED, failures, max_retries)
    assert (got.state, got.add_failures, got.delay) == (JobState.PENDING, 0, 0.0)


@pytest.mark.parametrize("max_retries", [0, 1, 5, 100])
@pytest.mark.parametrize("failures", [0, 1, 5, 100])
def test_cancelled_is_never_retried(failures: int, max_retries: int) -> None:
    got = _settle(Out.CANCELLED, failures, max_retries)
    assert (got.state, got.add_failures, got.delay) == (JobState.CANCELLED, 0, 0.0)


# backoff, failures, jitter -> delay. Half of backoff * 2**failures at jitter 0, almost all of
# it at jitter 0.999, and never more than MAX_RETRY_DELAY.
DELAYS = [
    ("first-jitter-0", 10.0, 0, 0.0, 5.0),
    ("first-jitter-half", 10.0, 0, 0.5, 7.5),
    ("first-jitter-max", 10.0, 0, 0.999, 9.995),
    ("second-jitter-0", 10.0, 1, 0.0, 10.0),
    ("fourth-jitter-0", 10.0, 3, 0.0, 40.0),
    ("fourth-jitter-max", 10.0, 3, 0.999, 79.96),
    ("zero-backoff", 0.0, 5, 0.999, 0.0),
    ("fractional-backoff", 0.5, 2, 0.0, 1.0),
    ("just-under-cap", 3600.0, 0, 0.999, 3598.2),
    ("cap-jitter-0", 10.0, 9, 0.0, 1800.0),
    ("cap-jitter-max", 10.0, 9, 0.999, 3598.2),
    ("cap-large-backoff", 1000.0, 2, 0.0, 1800.0),
    ("cap-99th-retry", 1.0, 99, 0.999, 3598.2),
]


@pytest.mark.parametrize(
    ("backoff", "failures", "jitter", "delay"),
    [pytest.param(*case[1:], id=str(case[0])) for case in DELAYS],
)
def test_retry_delay(backoff: float, failures: int, jitter: float, delay: float) -> None:
    got = _settle(Out.FAILED, failures, 100, backoff=backoff, jitter=jitter)
    assert got.state is JobState.PENDING
    assert got.delay == pytest.approx(delay)
    assert got.reason.endswith(f" in {delay:.1f}s")


def test_max_retry_delay_is_an_hour() -> None:
    assert MAX_RETRY_DELAY == 3600.0


@settings(database=None)
@given(
    failures=st.integers(0, 99),
    backoff=st.floats(0.0, 1e6, allow_nan=False, allow_infinity=False),
    jitter=st.floats(0.0, 1.0, exclude_max=True),
)
def test_delay_is_between_half_and_all_of_the_capped_backoff(
    failures: int, backoff: float, jitter: float
) -> None:
    full = min(backoff * 2**failures, MAX_RETRY_DELAY)
    got = _settle(Out.FAILED, failures, 100, backoff=backoff, jitter=jitter)
    assert full / 2 <= got.delay <= full <= MAX_RETRY_DELAY
    assert got.add_failures == 1


@pytest.mark.parametrize("src", [pytest.param(s, id=s.name) for s in (JobState.ASSIGNED, JobState.RUNNING)])
@pytest.mark.parametrize("max_retries", [0, 2])
@pytest.mark.parametrize("outcome", [pytest.param(o, id=o.name) for o in ENDS_AN_ATTEMPT])
@pytest.mark.parametrize("cancel", ["", "asked"])
def test_settlement_is_a_legal_move_from_an_active_job(
    outcome: AttemptOutcome, max_retries: int, src: JobState, cancel: str
) -> None:
    got = settle(
        outcome, failures=0, max_retries=max_retries, backoff=1.0, reason="r", jitter=0.0, cancel=cancel
    )
    assert can_transition(src, got.state)
