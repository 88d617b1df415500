"""The verified-token cache trusts an entry only while revocations are heard, never one read
before a revocation it heard, and not past its age."""

from __future__ import annotations

from hodeid.control.apitokens import Caller
from hodeid.control.tokencache import MAX_AGE_SECONDS, TokenCache
from hodeid.domain.access import Role

CI = Caller("0123456789ab", "ci", Role.READ)
DIGEST = b"d" * 32


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def listening() -> TokenCache:
    cache = TokenCache()
    cache.listening(True)
    return cache


def test_a_verified_token_is_kept_while_revocations_are_heard() -> None:
    cache = listening()
    cache.keep(cache.epoch, DIGEST, CI)
    entry = cache.get(CI.token_id)
    assert entry is not None and entry.caller == CI and entry.digest == DIGEST


def test_nothing_is_kept_before_listening_starts() -> None:
    cache = TokenCache()
    cache.keep(cache.epoch, DIGEST, CI)
    assert cache.get(CI.token_id) is None


def test_a_revocation_heard_drops_the_token() -> None:
    cache = listening()
    cache.keep(cache.epoch, DIGEST, CI)
    cache.revoked(CI.token_id)
    assert cache.get(CI.token_id) is None


def test_a_row_read_before_a_revocation_was_heard_is_not_kept() -> None:
    cache = listening()
    epoch = cache.epoch  # the lookup starts
    cache.revoked(CI.token_id)  # heard while the lookup ran
    cache.keep(epoch, DIGEST, CI)
    assert cache.get(CI.token_id) is None


def test_listening_stopped_or_started_again_forgets_everything() -> None:
    for now in (False, True):
        cache = listening()
        epoch = cache.epoch
        cache.keep(epoch, DIGEST, CI)
        cache.listening(now)
        assert cache.get(CI.token_id) is None
        cache.keep(epoch, DIGEST, CI)  # a lookup begun before
        assert cache.get(CI.token_id) is None


def test_an_entry_expires() -> None:
    clock = Clock()
    cache = TokenCache(clock)
    cache.listening(True)
    cache.keep(cache.epoch, DIGEST, CI)
    clock.now = MAX_AGE_SECONDS
    assert cache.get(CI.token_id) is None
