"""``hodeid token create|revoke|list``: API tokens, run against the daemon's database."""

from __future__ import annotations

import sys

import asyncpg

from hodeid.control.apitokens import ApiTokens
from hodeid.domain.access import Role
from hodeid.store.tokens import TokenStore


async def run(pool: asyncpg.Pool, action: str, *, role: str = "", name: str = "", which: str = "") -> None:
    tokens = ApiTokens(TokenStore(pool))
    if action == "create":
        row, token = await tokens.create(name, Role(role))
        sys.stderr.write(f"token {row.name} ({row.id}), role {row.role}; it is shown only once:\n")
        sys.stdout.write(token + "\n")
    elif action == "revoke":
        row = await tokens.revoke(which)
        sys.stdout.write(f"revoked token {row.name} ({row.id})\n")
    else:
        sys.stdout.write(f"{'ID':<14}{'NAME':<32}{'ROLE':<7}{'CREATED':<27}REVOKED\n")
        for row in await tokens.all():
            revoked = row.revoked_at.isoformat(timespec="seconds") if row.revoked_at else "-"
            created = row.created_at.isoformat(timespec="seconds")
            sys.stdout.write(f"{row.id:<14}{row.name:<32}{row.role:<7}{created:<27}{revoked}\n")
