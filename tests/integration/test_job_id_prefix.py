"""A unique prefix of a job id names the job wherever an id is taken; an ambiguous one is
refused with the candidates (real PostgreSQL)."""

from __future__ import annotations

import asyncpg
import pytest

from hodei_api import v1
from hodeid.domain.classes import class_of
from hodeid.errors import InvalidRequest, NotFound
from hodeid.store.jobs import JobStore


async def _job_with_id(jobs: JobStore, pool: asyncpg.Pool, job_id: str) -> str:
    spec = v1.JobSpec(name="t", command=["true"])
    job, _ = await jobs.insert(spec, placement_class=class_of(spec))
    # Ids are random: the test gives two jobs a common start by hand.
    await pool.execute("UPDATE jobs SET id = $1::uuid WHERE id = $2::uuid", job_id, job.id)
    return job_id


A = "abcd1234-0000-4000-8000-000000000001"
B = "abcd1234-0000-4000-8000-000000000002"
C = "abcd5678-0000-4000-8000-000000000003"


@pytest.mark.parametrize(
    ("given", "named"),
    [
        ("abcd5", C),
        ("ABCD5678", C),
        ("abcd5678-0000", C),
        ("abcd1234-0000-4000-8000-000000000001", A),
        ("abcd1234-0000-4000-8000-00000000000", None),  # ambiguous: 1 and 2
    ],
)
async def test_a_unique_prefix_names_one_job(pool: asyncpg.Pool, given: str, named: str | None) -> None:
    jobs = JobStore(pool)
    for job_id in (A, B, C):
        await _job_with_id(jobs, pool, job_id)
    if named is None:
        with pytest.raises(InvalidRequest, match=f"is ambiguous: it starts ({B}, {A}|{A}, {B}); give more"):
            await jobs.resolve_id(given)
    else:
        assert await jobs.resolve_id(given) == named
        assert (await jobs.get(await jobs.resolve_id(given))).id == named


async def test_an_ambiguous_prefix_lists_the_newest_candidates(pool: asyncpg.Pool) -> None:
    jobs = JobStore(pool)
    for n in range(7):
        await _job_with_id(jobs, pool, f"abcd0000-0000-4000-8000-00000000000{n}")
    with pytest.raises(InvalidRequest) as refused:
        await jobs.resolve_id("abcd")
    listed = str(refused.value).split("it starts ")[1].split("; give")[0].split(", ")
    assert listed == [f"abcd0000-0000-4000-8000-00000000000{n}" for n in (6, 5, 4, 3, 2)] + ["..."]


@pytest.mark.parametrize("given", ["abc", "abcx", "ab-cd", "zzzz"])
async def test_what_is_no_prefix_is_looked_up_as_an_id_and_not_found(pool: asyncpg.Pool, given: str) -> None:
    jobs = JobStore(pool)
    await _job_with_id(jobs, pool, A)
    with pytest.raises(NotFound):
        await jobs.get(await jobs.resolve_id(given))


async def test_a_prefix_of_no_job_is_not_found(pool: asyncpg.Pool) -> None:
    with pytest.raises(NotFound, match="no job id starts with 'feed'"):
        await JobStore(pool).resolve_id("feed")
