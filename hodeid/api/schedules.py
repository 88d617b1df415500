"""ScheduleService: create, list, get, pause, resume, delete and run schedules."""

from __future__ import annotations

from dataclasses import replace

from hodei_api import v1
from hodeid.api.auth import CALLER
from hodeid.api.errors import grpc_errors
from hodeid.control.daemon import Daemon
from hodeid.domain.access import Role
from hodeid.domain.redaction import HIDDEN
from hodeid.errors import InvalidRequest


def _shown(schedule: v1.Schedule) -> v1.Schedule:
    """``schedule`` as the caller may see it: a reader sees the names of its job's environment
    variables, not their values (as for jobs)."""
    caller = CALLER.get()
    spec = schedule.spec
    admin = caller is not None and caller.role is Role.ADMIN
    if admin or spec is None or spec.job is None or not spec.job.env:
        return schedule
    job = replace(spec.job, env=dict.fromkeys(spec.job.env, HIDDEN))
    return replace(schedule, spec=replace(spec, job=job))


class ScheduleService(v1.ScheduleServiceBase):
    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon

    async def create_schedule(self, message: v1.CreateScheduleRequest) -> v1.Schedule:
        with grpc_errors():
            if message.spec is None:
                raise InvalidRequest("CreateScheduleRequest.spec is missing")
            return await self.daemon.schedules.create(message.spec)

    async def get_schedule(self, message: v1.GetScheduleRequest) -> v1.Schedule:
        with grpc_errors():
            return _shown(await self.daemon.schedules.get(message.name))

    async def list_schedules(self, message: v1.ListSchedulesRequest) -> v1.ListSchedulesResponse:
        with grpc_errors():
            schedules = await self.daemon.schedules.every()
        return v1.ListSchedulesResponse(schedules=[_shown(s) for s in schedules])

    async def pause_schedule(self, message: v1.PauseScheduleRequest) -> v1.Schedule:
        with grpc_errors():
            return await self.daemon.schedules.pause(message.name)

    async def resume_schedule(self, message: v1.ResumeScheduleRequest) -> v1.Schedule:
        with grpc_errors():
            return await self.daemon.schedules.resume(message.name)

    async def delete_schedule(self, message: v1.DeleteScheduleRequest) -> v1.DeleteScheduleResponse:
        with grpc_errors():
            await self.daemon.schedules.delete(message.name)
        return v1.DeleteScheduleResponse()

    async def run_schedule(self, message: v1.RunScheduleRequest) -> v1.Job:
        with grpc_errors():
            return await self.daemon.schedules.run_now(message.name)
