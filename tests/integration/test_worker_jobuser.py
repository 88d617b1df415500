"""The job user as the worker resolves it at start: real users, real probes of directories."""

from __future__ import annotations

import os
import pwd
from pathlib import Path

import pytest

from hodei_api import v1
from hodei_api.loglines import unpack
from hodei_worker.errors import JobUserError
from hodei_worker.jobuser import lookup, resolve_job_user
from hodei_worker.process import AttemptProcess

AS_ROOT = pytest.mark.skipif(os.geteuid() != 0, reason="only root switches the job's user")


def test_an_unknown_user_is_refused_and_the_message_says_what_to_do() -> None:
    with pytest.raises(JobUserError) as raised:
        lookup("no-such-user-hodei")
    assert str(raised.value) == (
        "--job-user / HODEI_JOB_USER: there is no user 'no-such-user-hodei' on this host; "
        "give an existing user (default 'nobody') or create it"
    )


@AS_ROOT
def test_as_root_jobs_run_as_nobody_unless_told() -> None:
    nobody = pwd.getpwnam("nobody")
    default = resolve_job_user(None)
    assert default is not None and (default.name, default.uid, default.gid) == (
        "nobody",
        nobody.pw_uid,
        nobody.pw_gid,
    )
    rooted = resolve_job_user("root")
    assert rooted is not None and rooted.uid == 0


@AS_ROOT
async def test_a_job_starts_in_the_workers_directory_only_if_its_user_may_enter_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # 0700, root's
    user = resolve_job_user(None)
    assert user is not None and user.workdir == "/"
    lines: list[bytes] = []

    def keep(message: v1.WorkerMessage) -> None:
        if message.log_batch is not None and message.log_batch.lines is not None:
            lines.extend(line.data for line in unpack(message.log_batch.lines))

    run = v1.RunJob(job_id="j", attempt=1, spec=v1.JobSpec(command=["sh", "-c", "id -u; pwd"]), first_seq=1)
    finished = await AttemptProcess(run, keep, user=user).run()
    assert finished is not None and finished.exit_code == 0
    assert lines == [f"{user.uid}\n".encode(), b"/\n"]
    monkeypatch.chdir("/tmp")
    moved = resolve_job_user(None)
    assert moved is not None and moved.workdir == "/tmp"
