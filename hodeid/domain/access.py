"""Who may call what: the role each RPC of the contract needs. Pure; ``hodeid.api.auth``
is the one place that applies it to a request."""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    """What a caller may do. ``admin`` may do everything ``read`` may."""

    READ = "read"
    """List, get, follow logs, explain, watch."""
    ADMIN = "admin"
    """Everything: submit, cancel, retry, drain too."""


class Access(enum.Enum):
    """How an RPC is let in."""

    PUBLIC = "public"
    """No token: health checks and reflection, which probes and generic tools call."""
    WORKER = "worker"
    """A worker stream: its Hello carries a join, one-time or resume token, checked there."""
    READ = "read"
    """A bearer token of role read or admin."""
    ADMIN = "admin"
    """A bearer token of role admin."""


def _service(name: str, **methods: Access) -> dict[str, Access]:
    return {f"/{name}/{method}": access for method, access in methods.items()}


# Every RPC served, by its gRPC path. An RPC missing here is refused (PERMISSION_DENIED),
# and a test fails for every RPC of protos/ that has no entry.
ACCESS: dict[str, Access] = {
    **_service(
        "hodei.v1.JobService",
        SubmitJob=Access.ADMIN,
        GetJob=Access.READ,
        ListJobs=Access.READ,
        CancelJob=Access.ADMIN,
        RetryJob=Access.ADMIN,
        WatchJobs=Access.READ,
    ),
    **_service("hodei.v1.LogService", StreamLogs=Access.READ),
    **_service("hodei.v1.SchedulerService", ExplainJob=Access.READ, WatchDecisions=Access.READ),
    **_service(
        "hodei.v1.WorkerService",
        Connect=Access.WORKER,
        ListWorkers=Access.READ,
        DrainWorker=Access.ADMIN,
        WatchWorkers=Access.READ,
    ),
    **_service("hodei.v1.ProviderService", ListProviders=Access.READ),
    **_service("hodei.v1.DaemonService", ListDaemons=Access.READ),
    **_service(
        "hodei.v1.ScheduleService",
        CreateSchedule=Access.ADMIN,
        GetSchedule=Access.READ,
        ListSchedules=Access.READ,
        PauseSchedule=Access.ADMIN,
        ResumeSchedule=Access.ADMIN,
        DeleteSchedule=Access.ADMIN,
        RunSchedule=Access.ADMIN,
    ),
    **_service("grpc.health.v1.Health", Check=Access.PUBLIC, Watch=Access.PUBLIC),
    **_service("grpc.reflection.v1.ServerReflection", ServerReflectionInfo=Access.PUBLIC),
    **_service("grpc.reflection.v1alpha.ServerReflection", ServerReflectionInfo=Access.PUBLIC),
}


def allows(role: Role, access: Access) -> bool:
    """Whether a bearer token of ``role`` may call an RPC let in by ``access``."""
    if access is Access.READ:
        return role in (Role.READ, Role.ADMIN)
    if access is Access.ADMIN:
        return role is Role.ADMIN
    return access is Access.PUBLIC
