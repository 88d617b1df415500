"""grpc.health.v1 (grpclib's own Health service): SERVING while the database answers."""

from __future__ import annotations

from collections.abc import Collection

from grpclib._typing import ICheckable, IServable
from grpclib.health.check import CheckBase, ServiceCheck
from grpclib.health.service import OVERALL, Health

from hodeid.control.daemon import Daemon

# Probes from load balancers come often; one SELECT 1 per second is plenty.
CHECK_TTL = 1.0
CHECK_TIMEOUT = 3.0


class DatabaseCheck:
    """The check grpclib runs; its name is what grpclib's status-change log lines show."""

    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon

    async def __call__(self) -> bool:
        return await self.daemon.database_ok()

    def __repr__(self) -> str:
        return "database"


def health_service(daemon: Daemon, services: Collection[IServable]) -> Health:
    """A Health service that reports the database check for the server as a whole ("")
    and for each of ``services`` by its full name."""
    check = ServiceCheck(DatabaseCheck(daemon), check_ttl=CHECK_TTL, check_timeout=CHECK_TIMEOUT)
    checks: dict[ICheckable, list[CheckBase]] = {service: [check] for service in services}
    checks[OVERALL] = [check]
    return Health(checks)
