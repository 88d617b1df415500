"""What a caller of role ``read`` may not see of a job: the values of its environment, which
may hold the submitter's secrets. Pure: ``hodeid.api`` applies it per caller."""

from __future__ import annotations

from dataclasses import replace

from hodei_api.gen.hodei.v1 import Job

HIDDEN = "***"
"""Every environment value, empty or not, as a reader sees it: names stay, values do not."""


def hide_env_values(job: Job) -> Job:
    """A copy of ``job`` whose spec's environment values are all ``HIDDEN``.

    ``job`` itself is left alone: the same message may go to an admin watching beside.
    """
    if job.spec is None or not job.spec.env:
        return job
    env = dict.fromkeys(job.spec.env, HIDDEN)
    return replace(job, spec=replace(job.spec, env=env))
