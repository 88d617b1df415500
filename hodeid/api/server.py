"""The gRPC server: one service object per contract service."""

from __future__ import annotations

from grpclib._typing import IServable
from grpclib.reflection.service import ServerReflection
from grpclib.server import Server

from hodeid.api.health import health_service
from hodeid.api.jobs import JobService
from hodeid.api.logs import LogService
from hodeid.api.providers import ProviderService
from hodeid.api.scheduler import SchedulerService
from hodeid.api.workers import WorkerService
from hodeid.control.daemon import Daemon


def services(daemon: Daemon) -> list[IServable]:
    return [
        JobService(daemon),
        LogService(daemon),
        SchedulerService(daemon),
        WorkerService(daemon),
        ProviderService(daemon),
    ]


def build_server(daemon: Daemon) -> Server:
    """The contract's services, grpc.health.v1 and server reflection listing all of them."""
    contract = services(daemon)
    return Server(ServerReflection.extend([*contract, health_service(daemon, contract)]))
