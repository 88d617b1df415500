"""API bearer tokens: ``hodei_<id>.<secret>``. The id finds the stored row; the secret is
kept only as its sha256, compared in constant time. ``verify`` is what the API guard calls."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from hodeid.control.tokencache import TokenCache
from hodeid.domain.access import Role
from hodeid.errors import InvalidRequest, NotFound, Unauthenticated
from hodeid.metrics import TOKEN_CACHE_HITS
from hodeid.store.tokens import TokenRow, TokenStore

PREFIX = "hodei_"
_SHAPE = re.compile(r"hodei_([0-9a-f]{12})\.([A-Za-z0-9_-]{20,100})")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


@dataclass(frozen=True)
class Caller:
    """Who made a request: the token's id (what per-submitter limits count by), name and role."""

    token_id: str
    name: str
    role: Role


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def new_token() -> tuple[str, str, bytes]:
    """A fresh token: (id, the whole token to hand out, the digest to store)."""
    token_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    return token_id, f"{PREFIX}{token_id}.{secret}", _digest(secret)


def parse(token: str) -> tuple[str, bytes] | None:
    """(id, digest of the secret) of a well-formed token, else None."""
    match = _SHAPE.fullmatch(token)
    return None if match is None else (match[1], _digest(match[2]))


class ApiTokens:
    def __init__(self, store: TokenStore) -> None:
        self.store = store
        # Fed and emptied by Revocations, which hears every revocation.
        self.cache = TokenCache()

    async def create(self, name: str, role: Role) -> tuple[TokenRow, str]:
        """A new token named ``name``: its row and the token itself (shown once, never stored)."""
        if not _NAME.fullmatch(name):
            raise InvalidRequest(
                f"token name {name!r} is not valid: up to 64 letters, digits, '.', '_' or '-'"
            )
        token_id, token, digest = new_token()
        row = await self.store.insert(token_id, name, role.value, digest)
        if row is None:
            raise InvalidRequest(f"a token named {name!r} exists; revoke it first or pick another name")
        return row, token

    async def register(self, token: str, label: str, role: Role) -> bool:
        """Make ``token`` (read from a file this daemon wrote) known to the database as
        ``<label>-<id>``, unless it is already, revoked or not; True if it was recorded now."""
        parsed = parse(token)
        if parsed is None:
            raise InvalidRequest(f"the {label} token is not a hodei token ({PREFIX}ID.SECRET)")
        return await self.store.register(parsed[0], f"{label}-{parsed[0]}", role.value, parsed[1])

    async def revoke(self, id_or_name: str) -> TokenRow:
        row = await self.store.revoke(id_or_name)
        if row is None:
            raise NotFound(f"no live token has the id or name {id_or_name!r} (see hodeid token list)")
        return row

    async def all(self) -> list[TokenRow]:
        return await self.store.all()

    async def verify(self, token: str) -> Caller:
        """The caller ``token`` belongs to, or Unauthenticated saying what to do."""
        parsed = parse(token)
        if parsed is not None and (entry := self.cache.get(parsed[0])) is not None:
            if hmac.compare_digest(entry.digest, parsed[1]):
                TOKEN_CACHE_HITS.inc()
                return entry.caller
        epoch = self.cache.epoch
        row = None if parsed is None else await self.store.get(parsed[0])
        if parsed is None or row is None or not hmac.compare_digest(row.secret_sha256, parsed[1]):
            raise Unauthenticated(
                "the bearer token is not valid here; use the admin.token file in hodeid's data "
                "directory or one from 'hodeid token create'"
            )
        if row.revoked_at is not None:
            raise Unauthenticated(
                f"token {row.name} ({row.id}) was revoked; ask an operator for a new one "
                "('hodeid token create')"
            )
        caller = Caller(row.id, row.name, Role(row.role))
        self.cache.keep(epoch, row.secret_sha256, caller)
        return caller
