"""DaemonService: the hodeid daemons sharing the database, and which one answered."""

from __future__ import annotations

from hodei_api import v1
from hodeid.api.errors import grpc_errors
from hodeid.control.daemon import Daemon


class DaemonService(v1.DaemonServiceBase):
    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon

    async def list_daemons(self, message: v1.ListDaemonsRequest) -> v1.ListDaemonsResponse:
        with grpc_errors():
            return await self.daemon.daemons()
