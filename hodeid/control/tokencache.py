"""Callers of recently verified API tokens, so that a call does not look its token up in
PostgreSQL each time. A revocation must still work from the token's next call: the cache is
used only while the daemon hears revocations (LISTEN hodei_tokens), a revocation heard drops
its token at once, and every new start of listening empties it (a revocation made while
nobody listened went unheard)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hodeid.control.apitokens import Caller

MAX_AGE_SECONDS = 30.0
"""How long an entry is trusted. Revocations are heard at once; this bounds what is not
announced: a token row deleted, or its role changed, by SQL by hand."""

MAX_ENTRIES = 10_000
"""Only verified live tokens are kept, so this is a guard, not a working limit."""


@dataclass(frozen=True)
class _Entry:
    digest: bytes
    caller: Caller
    expires_at: float


class TokenCache:
    """Verified tokens by id, with the digest of the secret that was verified."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self._listening = False
        # Moves on every revocation heard and every start or stop of listening: a lookup that
        # began before it moved may have read a row that is revoked by now.
        self._epoch = 0

    @property
    def epoch(self) -> int:
        """Take before reading a token's row; pass to ``keep``."""
        return self._epoch

    def get(self, token_id: str) -> _Entry | None:
        """The entry of ``token_id`` still trusted, if any (the caller compares the digest)."""
        entry = self._entries.get(token_id)
        if entry is None:
            return None
        if self._clock() >= entry.expires_at:
            del self._entries[token_id]
            return None
        return entry

    def keep(self, epoch: int, digest: bytes, caller: Caller) -> None:
        """Remember ``caller``, verified from a row read since ``epoch`` was taken, unless
        revocations are not being heard or one was heard since."""
        if not self._listening or epoch != self._epoch:
            return
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
        self._entries[caller.token_id] = _Entry(digest, caller, self._clock() + MAX_AGE_SECONDS)

    def revoked(self, token_id: str) -> None:
        """A revocation of ``token_id`` was heard: verify it in the database from now on."""
        self._epoch += 1
        self._entries.pop(token_id, None)

    def listening(self, now: bool) -> None:
        """Revocations are heard from now on (``now``), or no longer: either way, forget all."""
        self._epoch += 1
        self._listening = now
        self._entries.clear()
