"""grpclib's server writing through ``hodei_api.corking``: the writes of one event-loop round
to a connection (a unary answer's headers, message and trailers) leave in one send."""

from __future__ import annotations

from grpclib.protocol import H2Protocol
from grpclib.server import Server

from hodei_api.corking import CorkedH2Protocol


class CorkedServer(Server):
    """grpclib's server, each connection's protocol a ``CorkedH2Protocol``."""

    def _protocol_factory(self) -> H2Protocol:
        made = super()._protocol_factory()
        return CorkedH2Protocol(made.handler, made.config, made.h2_config)
