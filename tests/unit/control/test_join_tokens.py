"""JoinTokens.admit, the one check point for who may open a worker stream."""

from __future__ import annotations

import pytest

from hodei_api import v1
from hodei_api.worker_identity import ONE_TIME_PREFIX, RESUME_PREFIX, provisioned
from hodeid.control.tokens import REMEMBER_SECONDS, JoinTokens
from hodeid.errors import Unauthenticated


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def hello(worker_id: str, token: str) -> v1.Hello:
    return v1.Hello(worker_id=worker_id, slots=1, token=token)


def test_a_one_time_token_admits_its_worker_once() -> None:
    tokens = JoinTokens(ttl_seconds=300)
    token = tokens.issue("local-1")
    assert token.startswith(ONE_TIME_PREFIX)
    tokens.admit(hello("local-1", token))
    with pytest.raises(Unauthenticated, match="already used"):
        tokens.admit(hello("local-1", token))
    with pytest.raises(Unauthenticated, match="already used"):
        tokens.admit(hello("intruder", token))


def test_an_expired_token_is_refused() -> None:
    clock = Clock()
    tokens = JoinTokens(ttl_seconds=300, clock=clock)
    token = tokens.issue("local-1")
    clock.now += 300
    with pytest.raises(Unauthenticated, match="expired 300 s after it was issued"):
        tokens.admit(hello("local-1", token))


def test_a_token_admits_only_the_worker_it_was_issued_to() -> None:
    tokens = JoinTokens()
    token = tokens.issue("local-1")
    with pytest.raises(Unauthenticated, match="issued to worker local-1"):
        tokens.admit(hello("other", token))


def test_a_revoked_or_unknown_one_time_token_is_refused() -> None:
    tokens = JoinTokens(cluster_token=None)
    token = tokens.issue("local-1")
    tokens.revoke(token)
    with pytest.raises(Unauthenticated, match="already used"):
        tokens.admit(hello("local-1", token))
    # Never taken for a cluster token, even when none is configured.
    with pytest.raises(Unauthenticated, match="unknown to this daemon"):
        tokens.admit(hello("local-1", ONE_TIME_PREFIX + "forged"))


def test_tokens_used_long_ago_are_forgotten_but_still_refused() -> None:
    clock = Clock()
    tokens = JoinTokens(ttl_seconds=1, clock=clock)
    old = tokens.issue("a")
    clock.now += 10_000
    tokens.issue("b")
    with pytest.raises(Unauthenticated, match="unknown"):
        tokens.admit(hello("a", old))


@pytest.mark.parametrize(
    ("cluster", "presented", "admitted"),
    [
        (None, "", True),
        (None, "anything", True),
        ("s3cret", "s3cret", True),
        ("s3cret", "", False),
        ("s3cret", "wrong", False),
    ],
)
def test_static_workers_need_the_cluster_token_when_one_is_set(
    cluster: str | None, presented: str, admitted: bool
) -> None:
    tokens = JoinTokens(cluster_token=cluster)
    if admitted:
        tokens.admit(hello("static", presented))
    else:
        with pytest.raises(Unauthenticated, match="set HODEI_JOIN_TOKEN"):
            tokens.admit(hello("static", presented))


def test_the_spent_token_is_exchanged_for_a_resume_token_that_lets_the_worker_back_in() -> None:
    tokens = JoinTokens(clock=Clock())
    resume = tokens.admit(hello("w1", tokens.issue("w1")))
    assert resume.startswith(RESUME_PREFIX)
    for _ in range(3):  # a dropped stream, then another
        assert tokens.admit(hello("w1", resume)) == ""
    with pytest.raises(Unauthenticated, match="resume token is not valid"):
        tokens.admit(hello("w2", resume))


def test_a_destroyed_worker_cannot_resume() -> None:
    tokens = JoinTokens(clock=Clock())
    token = tokens.issue("w1")
    resume = tokens.admit(hello("w1", token))
    tokens.revoke(token)
    with pytest.raises(Unauthenticated, match="while it exists"):
        tokens.admit(hello("w1", resume))


def test_static_workers_get_no_resume_token() -> None:
    assert JoinTokens(cluster_token="c").admit(hello("static", "c")) == ""


def test_the_cluster_token_cannot_take_a_provisioned_workers_id() -> None:
    tokens = JoinTokens(cluster_token="cluster")
    token = tokens.issue("local-1")
    with pytest.raises(Unauthenticated, match="belongs to a worker a provider created"):
        tokens.admit(hello("local-1", "cluster"))
    resume = tokens.admit(hello("local-1", token))
    tokens.admit(hello("local-1", resume))
    with pytest.raises(Unauthenticated, match="belongs to a worker a provider created"):
        tokens.admit(hello("local-1", "cluster"))
    tokens.revoke(token)
    # Destroyed: the id is free again.
    tokens.admit(hello("local-1", "cluster"))


def test_a_joined_workers_id_stays_guarded_after_its_token_would_be_forgotten() -> None:
    clock = Clock()
    tokens = JoinTokens(ttl_seconds=300, cluster_token="cluster", clock=clock)
    tokens.admit(hello("local-1", tokens.issue("local-1")))
    unused = tokens.issue("local-2")
    clock.now += 300 + REMEMBER_SECONDS + 1
    tokens.issue("local-3")  # issuing forgets old tokens
    with pytest.raises(Unauthenticated, match="belongs to a worker a provider created"):
        tokens.admit(hello("local-1", "cluster"))
    with pytest.raises(Unauthenticated, match="unknown to this daemon"):
        tokens.admit(hello("local-2", unused))


@pytest.mark.parametrize(
    ("token", "expected"),
    [(ONE_TIME_PREFIX + "x", True), (RESUME_PREFIX + "x", True), ("hodei-join-cluster", False), ("", False)],
)
def test_only_provider_tokens_count_as_provisioned(token: str, expected: bool) -> None:
    # A provisioned worker proves its id with these; any other token needs the id's credential.
    assert provisioned(token) is expected
