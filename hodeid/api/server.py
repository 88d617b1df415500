"""The gRPC server: one service object per contract service."""

from __future__ import annotations

from grpclib._typing import IServable
from grpclib.server import Server

from hodeid.api.jobs import JobService
from hodeid.api.logs import LogService
from hodeid.api.scheduler import SchedulerService
from hodeid.api.workers import WorkerService
from hodeid.control.daemon import Daemon


def services(daemon: Daemon) -> list[IServable]:
    return [JobService(daemon), LogService(daemon), SchedulerService(daemon), WorkerService(daemon)]


def build_server(daemon: Daemon) -> Server:
    return Server(services(daemon))
