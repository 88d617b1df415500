"""Revoking a token ends the streams opened with it, at once, on every daemon sharing the
database: each streaming call runs filed under its caller's token, and PostgreSQL announces
every revocation (NOTIFY hodei_tokens, from a trigger) to every daemon listening. What is heard
here also keeps the daemon's cache of verified tokens true (see TokenCache)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from hodeid.control.apitokens import Caller
from hodeid.control.listening import Listen, keep_listening
from hodeid.control.tokencache import TokenCache
from hodeid.errors import StoreError, Unauthenticated
from hodeid.store.tokens import TokenStore

log = logging.getLogger(__name__)


class TokenRevoked(Unauthenticated):
    """The token this stream was opened with was revoked."""


class Revocations:
    """The streaming calls in progress by token id, ended when their token is revoked."""

    def __init__(self, tokens: TokenStore, listen: Listen, cache: TokenCache) -> None:
        self._tokens = tokens
        self._listen = listen
        self._cache = cache
        self._streams: dict[str, set[asyncio.Task[Any]]] = {}
        # Tasks cancelled because their token was revoked (not for any other reason).
        self._ended: set[asyncio.Task[Any]] = set()
        self._checks: set[asyncio.Task[None]] = set()

    async def stream(self, caller: Caller, call: Coroutine[Any, Any, None]) -> None:
        """Run the streaming call ``call`` made by ``caller`` in this task; TokenRevoked if its
        token is revoked before it ends."""
        task = asyncio.current_task()
        assert task is not None, "a streaming call runs in a task"
        streams = self._streams.setdefault(caller.token_id, set())
        streams.add(task)
        try:
            await call
        except asyncio.CancelledError:
            if task not in self._ended:
                raise
            task.uncancel()
            raise TokenRevoked(
                f"token {caller.name} ({caller.token_id}) was revoked; ask an operator for a new "
                "one ('hodeid token create')"
            ) from None
        finally:
            self._ended.discard(task)
            streams.discard(task)
            if not streams and self._streams.get(caller.token_id) is streams:
                del self._streams[caller.token_id]

    def revoked(self, token_id: str) -> None:
        """Forget the token ``token_id`` and end every stream opened with it."""
        self._cache.revoked(token_id)
        for task in self._streams.get(token_id, ()):
            if task not in self._ended:
                self._ended.add(task)
                task.cancel()

    async def run(self) -> None:
        """Hear revocations until cancelled, listening again after a lost connection."""
        await keep_listening(self._listen_caching, self.revoked, self._listening, "token revocations")

    async def _listen_caching(self, heard: Callable[[str], None], started: Callable[[], None]) -> None:
        try:
            await self._listen(heard, started)
        finally:
            # Revocations go unheard until listening starts again: verify every call meanwhile.
            self._cache.listening(False)

    def _listening(self) -> None:
        self._cache.listening(True)
        # A revocation made while nobody listened went unheard: look at the open streams' tokens.
        if self._streams:
            check = asyncio.create_task(self._check_open(), name="token recheck")
            self._checks.add(check)
            check.add_done_callback(self._checks.discard)

    async def _check_open(self) -> None:
        for token_id in list(self._streams):
            try:
                row = await self._tokens.get(token_id)
            except StoreError as exc:
                log.warning("open streams' tokens not checked (%s)", exc.message)
                return
            if row is None or row.revoked_at is not None:
                self.revoked(token_id)
