"""The one place requests are authenticated and authorised: every handler of every service
the daemon serves is wrapped here, so unary and streaming RPCs, on a real server or on
grpclib's ChannelFor, pass the same check before the handler runs."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Coroutine, Mapping
from contextvars import ContextVar
from typing import Any

from grpclib._typing import IServable
from grpclib.const import Cardinality, Handler, Status
from grpclib.exceptions import GRPCError
from grpclib.server import Stream

from hodeid.api.errors import grpc_errors
from hodeid.control.apitokens import ApiTokens, Caller
from hodeid.control.revocations import Revocations, TokenRevoked
from hodeid.domain.access import ACCESS, Access, allows
from hodeid.metrics import AUTH_REFUSALS

log = logging.getLogger(__name__)

# The caller of the request being handled (None for public and worker RPCs).
CALLER: ContextVar[Caller | None] = ContextVar("hodei_caller", default=None)

HOW = (
    "send gRPC metadata 'authorization: Bearer <token>'; the hodei CLI reads HODEI_TOKEN, then "
    "HODEI_TOKEN_FILE, then the admin.token file in hodeid's data directory"
)

Func = Callable[[Stream[Any, Any]], Coroutine[Any, Any, None]]


def bearer(metadata: Mapping[str, Any] | None) -> str:
    """The token of an ``authorization: Bearer <token>`` entry, or GRPCError saying what to send."""
    value = metadata.get("authorization") if metadata else None
    if not isinstance(value, str) or not value.strip():
        raise GRPCError(Status.UNAUTHENTICATED, f"no bearer token; {HOW}")
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise GRPCError(Status.UNAUTHENTICATED, f"the authorization metadata is not 'Bearer <token>'; {HOW}")
    return token.strip()


class _Guarded:
    """A service whose handlers run only for callers ``ACCESS`` lets in."""

    def __init__(
        self, service: IServable, tokens: ApiTokens, revocations: Revocations, worker_cert: bool
    ) -> None:
        self._service = service
        self._tokens = tokens
        self._revocations = revocations
        self._worker_cert = worker_cert

    def __mapping__(self) -> dict[str, Handler]:
        return {
            path: handler._replace(
                func=self._guard(path, handler.func, handler.cardinality is not Cardinality.UNARY_UNARY)
            )
            for path, handler in self._service.__mapping__().items()
        }

    def _guard(self, path: str, func: Func, streaming: bool) -> Func:
        access = ACCESS.get(path)
        if access is Access.PUBLIC or (access is Access.WORKER and not self._worker_cert):
            # Worker streams are authenticated by the token in their Hello (JoinTokens.admit).
            return func
        if access is Access.WORKER:
            return _with_client_cert(func)
        tokens = self._tokens
        revocations = self._revocations

        async def guarded(stream: Stream[Any, Any]) -> None:
            try:
                caller = await _check(path, access, tokens, stream)
            except GRPCError as exc:
                if exc.status in (Status.UNAUTHENTICATED, Status.PERMISSION_DENIED):
                    AUTH_REFUSALS.labels(status=exc.status.name).inc()
                    log.info("%s from %s refused: %s", path, _peer(stream), exc.message)
                raise
            CALLER.set(caller)
            if not streaming:
                # A unary call is over in moments; a revoked token is refused from its next one.
                await func(stream)
                return
            try:
                await revocations.stream(caller, func(stream))
            except TokenRevoked as exc:
                AUTH_REFUSALS.labels(status=Status.UNAUTHENTICATED.name).inc()
                log.info("%s from %s ended: %s", path, _peer(stream), exc.message)
                raise GRPCError(Status.UNAUTHENTICATED, exc.message) from None

        return guarded


async def _check(path: str, access: Access | None, tokens: ApiTokens, stream: Stream[Any, Any]) -> Caller:
    """The caller, if its token lets it call ``path``; else GRPCError saying what to do."""
    if access is None:
        raise GRPCError(
            Status.PERMISSION_DENIED,
            f"{path} has no role in hodeid's access table, so nobody may call it; report this bug",
        )
    with grpc_errors():
        caller = await tokens.verify(bearer(stream.metadata))
    if not allows(caller.role, access):
        raise GRPCError(
            Status.PERMISSION_DENIED,
            f"{path} needs a token of role {access.value}; token {caller.name} has role "
            f"{caller.role.value} (an operator can make one with "
            f"'hodeid token create --role {access.value}')",
        )
    return caller


def _peer(stream: Stream[Any, Any]) -> str:
    address = stream.peer.addr()
    return f"{address[0]}:{address[1]}" if address else "an unknown peer"


def _with_client_cert(func: Func) -> Func:
    async def guarded(stream: Stream[Any, Any]) -> None:
        if not stream.peer.cert():
            raise GRPCError(
                Status.UNAUTHENTICATED,
                "this daemon requires worker streams to present a TLS client certificate signed "
                "by its --tls-client-ca; start hodei-worker with --tls-cert and --tls-key",
            )
        await func(stream)

    return guarded


def guard(
    services: Collection[IServable], tokens: ApiTokens, revocations: Revocations, worker_cert: bool = False
) -> list[IServable]:
    """``services`` with every handler behind the token check, their streaming calls ended
    when their token is revoked; with ``worker_cert``, worker streams must also come
    with a verified client certificate."""
    return [_Guarded(service, tokens, revocations, worker_cert) for service in services]
