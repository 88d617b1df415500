"""ProviderService: the providers that create workers on demand, and their state."""

from __future__ import annotations

from hodei_api import v1
from hodeid.control.daemon import Daemon


class ProviderService(v1.ProviderServiceBase):
    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon

    async def list_providers(self, message: v1.ListProvidersRequest) -> v1.ListProvidersResponse:
        return v1.ListProvidersResponse(providers=self.daemon.providers())
