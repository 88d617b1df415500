"""ListJobs says how many jobs match in all when a page is full, so that a client can say how
many it left out; a page that is not full holds the rest, and no count is made for it."""

from __future__ import annotations

from hodei_api import v1
from tests.support.scripted_worker import submit


async def test_a_full_page_carries_the_total_of_the_states_asked_for(channel: object) -> None:
    for n in range(5):
        await submit(channel, "echo", str(n))
    jobs = v1.JobServiceStub(channel)  # type: ignore[arg-type]

    first = await jobs.list_jobs(v1.ListJobsRequest(limit=2))
    assert (len(first.jobs), first.total) == (2, 5)
    pending = await jobs.list_jobs(v1.ListJobsRequest(states=[v1.JobState.PENDING], limit=2))
    assert pending.total == 5
    later = await jobs.list_jobs(v1.ListJobsRequest(limit=2, page_token=first.next_page_token))
    assert later.total == 5  # all of them, not only those after the cursor

    last = await jobs.list_jobs(v1.ListJobsRequest(limit=10))
    assert (len(last.jobs), last.total) == (5, None)
    none = await jobs.list_jobs(v1.ListJobsRequest(states=[v1.JobState.SUCCEEDED], limit=2))
    assert (len(none.jobs), none.total) == (0, None)
