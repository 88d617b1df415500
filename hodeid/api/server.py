"""The gRPC server: one service object per contract service."""

from __future__ import annotations

from grpclib.server import Server

from hodeid.api.jobs import JobService
from hodeid.api.logs import LogService
from hodeid.api.workers import WorkerService
from hodeid.control.daemon import Daemon


def build_server(daemon: Daemon) -> Server:
    return Server([JobService(daemon), LogService(daemon), WorkerService(daemon)])
