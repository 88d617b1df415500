"""``hodei schedule create|list|get|pause|resume|delete|run``."""

from __future__ import annotations

import argparse

from hodei_api.printable import printable
from hodei_tui.backend import Backend
from hodei_tui.cli.exit_codes import OK
from hodei_tui.cli.render import to_json
from hodei_tui.cli.render_jobs import job_to_dict
from hodei_tui.cli.render_schedules import schedule_text, schedule_to_dict, schedules_table
from hodei_tui.cli.spec import build_schedule


async def create_command(args: argparse.Namespace, backend: Backend) -> int:
    """``hodei schedule create NAME (--cron EXPR | --every D) [...] -- CMD``."""
    schedule = await backend.create_schedule(build_schedule(args))
    print(to_json(schedule_to_dict(schedule)) if args.output == "json" else schedule_text(schedule))
    return OK


async def list_command(args: argparse.Namespace, backend: Backend) -> int:
    """``hodei schedule list [-o json]``."""
    schedules = await backend.list_schedules()
    if args.output == "json":
        print(to_json([schedule_to_dict(s) for s in schedules]))
    else:
        print(schedules_table(schedules))
    return OK


async def get_command(args: argparse.Namespace, backend: Backend) -> int:
    """``hodei schedule get NAME [-o json]``."""
    schedule = await backend.get_schedule(args.schedule_name)
    print(to_json(schedule_to_dict(schedule)) if args.output == "json" else schedule_text(schedule))
    return OK


async def pause_command(args: argparse.Namespace, backend: Backend) -> int:
    """``hodei schedule pause NAME [-o json]``."""
    schedule = await backend.pause_schedule(args.schedule_name)
    print(to_json(schedule_to_dict(schedule)) if args.output == "json" else schedule_text(schedule))
    return OK


async def resume_command(args: argparse.Namespace, backend: Backend) -> int:
    """``hodei schedule resume NAME [-o json]``."""
    schedule = await backend.resume_schedule(args.schedule_name)
    print(to_json(schedule_to_dict(schedule)) if args.output == "json" else schedule_text(schedule))
    return OK


async def delete_command(args: argparse.Namespace, backend: Backend) -> int:
    """``hodei schedule delete NAME [-o json]``."""
    await backend.delete_schedule(args.schedule_name)
    if args.output == "json":
        print(to_json({"name": args.schedule_name, "deleted": True}))
    else:
        print(printable(f"schedule {args.schedule_name} deleted; the jobs of its runs are kept"))
    return OK


async def run_command(args: argparse.Namespace, backend: Backend) -> int:
    """``hodei schedule run NAME [-o json]``: prints the run's job id."""
    job = await backend.run_schedule(args.schedule_name)
    print(to_json(job_to_dict(job)) if args.output == "json" else printable(job.id))
    return OK
