"""What proves a worker's id, shared by the worker, which makes and presents it, and the daemon,
which checks it.

A worker that joins with the cluster token makes its own credential before its first Hello,
keeps it, and presents it in every Hello; the daemon binds a fresh id to the first credential
presented for it. Since the worker holds the secret before the daemon stores its hash, a stream
cut before the Welcome arrives costs nothing: the next Hello presents the same credential.
Provisioned workers prove their id with their provider's tokens instead.
"""

from __future__ import annotations

import re
import secrets

# One-time tokens of provisioned workers, and the resume tokens they get for them.
ONE_TIME_PREFIX = "hodei-jt-"
RESUME_PREFIX = "hodei-rt-"
CREDENTIAL_PREFIX = "hodei-wc-"
# token_urlsafe(32) gives 43 characters: 256 random bits.
CREDENTIAL_SECRET_CHARS = 43
MAX_CREDENTIAL_SECRET_CHARS = 128
# 43 random url-safe characters show about 31 different ones; fewer than 16 happens by chance
# about once in 10^13, so fewer means a credential someone typed, not one that was drawn.
MIN_DISTINCT_CHARS = 16
_SHAPE = re.compile(
    rf"{re.escape(CREDENTIAL_PREFIX)}[A-Za-z0-9_-]{{{CREDENTIAL_SECRET_CHARS},{MAX_CREDENTIAL_SECRET_CHARS}}}"
)


def provisioned(token: str) -> bool:
    """Whether ``token`` is a provisioned worker's (one-time or resume) token, not the
    cluster token: such a worker proves its id with it, not with a worker credential."""
    return token.startswith((ONE_TIME_PREFIX, RESUME_PREFIX))


def new_credential() -> str:
    """A fresh worker credential: the prefix and 256 random bits, url-safe."""
    return CREDENTIAL_PREFIX + secrets.token_urlsafe(32)


def credential_problem(credential: str) -> str | None:
    """What makes ``credential`` unfit to bind a worker id to, or None if it is fit."""
    if not credential:
        return "it presents no credential"
    if not _SHAPE.fullmatch(credential):
        return (
            f"its credential is not {CREDENTIAL_PREFIX!r} followed by {CREDENTIAL_SECRET_CHARS} to "
            f"{MAX_CREDENTIAL_SECRET_CHARS} url-safe characters (A-Z a-z 0-9 _ -)"
        )
    if len(set(credential.removeprefix(CREDENTIAL_PREFIX))) < MIN_DISTINCT_CHARS:
        return (
            f"its credential uses fewer than {MIN_DISTINCT_CHARS} different characters, so it was "
            "not drawn at random"
        )
    return None
