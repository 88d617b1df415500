"""Join tokens: who may open a worker stream. The one check point is ``JoinTokens.admit``.

A provisioned worker gets a one-time token bound to its worker id; it expires, and the first
Hello that presents it consumes it. In exchange the worker gets a resume token, bound to the
same worker id, for reconnecting after a dropped stream; it lives as long as the worker (it is
revoked with the one-time token when the worker is destroyed). Other workers present the
cluster join token when one is configured.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from hodei_api import v1
from hodei_api.worker_identity import ONE_TIME_PREFIX, RESUME_PREFIX
from hodeid.errors import Unauthenticated

# How long a used or expired token is remembered, to say which of the two it was.
REMEMBER_SECONDS = 3600.0


@dataclass
class _Issued:
    worker_id: str
    expires_at: float
    used: bool = False
    resume: str = ""
    revoked: bool = False


class JoinTokens:
    """One-time tokens issued to provisioned workers, and the cluster token."""

    def __init__(
        self,
        ttl_seconds: float = 300.0,
        cluster_token: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl_seconds
        self.cluster_token = cluster_token
        self.clock = clock
        self._issued: dict[str, _Issued] = {}
        # Resume token -> worker id, for provisioned workers that joined.
        self._resumes: dict[str, str] = {}

    def issue(self, worker_id: str) -> str:
        """A new one-time token for the worker ``worker_id`` that is about to be created."""
        self._forget_old()
        token = ONE_TIME_PREFIX + secrets.token_urlsafe(24)
        self._issued[token] = _Issued(worker_id, self.clock() + self.ttl)
        return token

    def revoke(self, token: str) -> None:
        """The worker was destroyed: nobody may use its token, or its resume token, now."""
        if (issued := self._issued.get(token)) is not None:
            issued.used = issued.revoked = True
            self._resumes.pop(issued.resume, None)

    def consumed(self, token: str) -> bool:
        """Whether a worker has been admitted with ``token`` (or it was revoked)."""
        issued = self._issued.get(token)
        return issued is not None and issued.used

    def admit(self, hello: v1.Hello) -> str:
        """Let the worker in or raise ``Unauthenticated``. A one-time token is consumed and
        exchanged for the resume token returned (else the result is empty)."""
        token = hello.token
        if token.startswith(RESUME_PREFIX):
            if self._resumes.get(token) != hello.worker_id:
                raise Unauthenticated(
                    f"worker {hello.worker_id}: resume token is not valid here; "
                    "a provisioned worker can only rejoin the daemon that created it, while it exists"
                )
            return ""
        if token.startswith(ONE_TIME_PREFIX):
            # By its prefix, one this daemon no longer remembers is still refused as a
            # one-time token and never taken for the cluster token.
            issued = self._issued.get(token)
            if issued is None:
                raise Unauthenticated(
                    f"worker {hello.worker_id}: join token is unknown to this daemon; "
                    "a provisioned worker must connect to the daemon that created it"
                )
            if issued.used:
                raise Unauthenticated(
                    f"worker {hello.worker_id}: join token was already used; each one admits one worker once"
                )
            if self.clock() >= issued.expires_at:
                raise Unauthenticated(
                    f"worker {hello.worker_id}: join token expired {self.ttl:g} s after it was issued"
                )
            if issued.worker_id != hello.worker_id:
                raise Unauthenticated(
                    f"worker {hello.worker_id}: join token was issued to worker {issued.worker_id}"
                )
            issued.used = True
            issued.resume = RESUME_PREFIX + secrets.token_urlsafe(24)
            self._resumes[issued.resume] = hello.worker_id
            return issued.resume
        if self.cluster_token and not hmac.compare_digest(token.encode(), self.cluster_token.encode()):
            raise Unauthenticated(
                f"worker {hello.worker_id}: wrong or missing join token; "
                "set HODEI_JOIN_TOKEN to the cluster's join token"
            )
        if any(i.worker_id == hello.worker_id and not i.revoked for i in self._issued.values()):
            # Else the cluster token would let anyone take over a provisioned worker's attempts.
            raise Unauthenticated(
                f"worker id {hello.worker_id} belongs to a worker a provider created; only its own "
                "token admits it (start other workers with other --id values)"
            )
        return ""

    def _forget_old(self) -> None:
        horizon = self.clock() - REMEMBER_SECONDS
        # A token whose worker joined and still exists is kept: it guards the worker's id.
        old = [t for t, i in self._issued.items() if i.expires_at < horizon and (i.revoked or not i.used)]
        for token in old:
            del self._issued[token]
