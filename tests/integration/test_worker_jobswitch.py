"""How a root worker switches a job to its user: through a trusted setpriv (Popen vforks) when
the program surely execs, else with Popen's own user= switch (Popen forks the worker). Both
must give the job the same identity, argv and descriptors, and the failures the same messages."""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from hodei_api import v1
from hodei_api.loglines import unpack
from hodei_worker.command import launch
from hodei_worker.execcheck import surely_runs
from hodei_worker.jobuser import SETPRIV, JobUser, job_environment, lookup, resolve_job_user, trusted_setpriv
from hodei_worker.process import AttemptProcess

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="only root switches the job's user"),
    pytest.mark.skipif(trusted_setpriv() is None, reason=f"no trusted {SETPRIV} on this host"),
]

EXTRA_GROUPS = (4, 24)  # adm, cdrom on Debian: any gids do, setgroups takes numbers


def nobody(*, setpriv: bool, groups: tuple[int, ...] = ()) -> JobUser:
    user = lookup("nobody")
    return replace(user, groups=user.groups + groups, setpriv=SETPRIV if setpriv else None)


async def run(
    command: list[str], user: JobUser, env: dict[str, str] | None = None
) -> tuple[v1.Finished, list[bytes], list[bytes]]:
    """The job's end, its stdout lines and its stderr lines."""
    out: list[bytes] = []
    err: list[bytes] = []

    def keep(message: v1.WorkerMessage) -> None:
        if message.log_batch is not None and message.log_batch.lines is not None:
            for line in unpack(message.log_batch.lines):
                (out if line.stream is v1.LogStream.STDOUT else err).append(line.data)

    job = v1.RunJob(job_id="j", attempt=1, spec=v1.JobSpec(command=command, env=env or {}), first_seq=1)
    finished = await asyncio.wait_for(AttemptProcess(job, keep, user=user).run(), 60)
    assert finished is not None
    return finished, out, err


@pytest.fixture
def root_only_dir() -> Iterator[Path]:
    """A fresh folder of root's, 0755, whose parents only root may change (under /run)."""
    if any(os.stat(p).st_uid != 0 or os.stat(p).st_mode & 0o022 for p in ("/", "/run")):
        pytest.skip("/run is not root's alone here")
    path = Path(tempfile.mkdtemp(dir="/run", prefix="hodei-test-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


@pytest.mark.parametrize("setpriv", [True, False], ids=["setpriv", "popen-user"])
async def test_the_job_has_its_users_ids_and_groups_its_argv_and_no_capability(setpriv: bool) -> None:
    user = nobody(setpriv=setpriv, groups=EXTRA_GROUPS)
    argv, _ = launch(["cat", "/proc/self/status"], job_environment({}, user), "/", user)
    assert (argv[0] == SETPRIV) is setpriv
    finished, out, _ = await run(["cat", "/proc/self/status"], user)
    assert finished.exit_code == 0
    status = dict(line.decode().rstrip("\n").split(":\t", 1) for line in out)
    assert status["Uid"].split() == [str(user.uid)] * 4
    assert status["Gid"].split() == [str(user.gid)] * 4
    assert sorted(map(int, status["Groups"].split())) == sorted(set(user.groups))
    for caps in ("CapInh", "CapPrm", "CapEff", "CapAmb"):
        assert int(status[caps], 16) == 0, caps
    _, cmdline, _ = await run(["cat", "/proc/self/cmdline"], user)
    assert cmdline == [b"cat\0/proc/self/cmdline\0"]
    _, fds, _ = await run(["ls", "/proc/self/fd"], user)
    assert fds == [b"0\n", b"1\n", b"2\n", b"3\n"]  # 3: the folder ls reads


@pytest.mark.parametrize("setpriv", [True, False], ids=["setpriv", "popen-user"])
@pytest.mark.parametrize(
    ("command", "exit_code", "reason"),
    [
        (["/nonexistent/prog"], 127, "cannot start '/nonexistent/prog': No such file or directory"),
        (["no-such-command-hodei"], 127, "cannot start 'no-such-command-hodei': No such file or directory"),
        (["/etc/passwd"], 126, "cannot start '/etc/passwd': Permission denied"),
        (["true", "a\0b"], 126, "cannot start 'true': embedded null byte"),
    ],
    ids=["missing program", "not on PATH", "not executable", "NUL in an argument"],
)
async def test_spawn_failures_say_the_same_either_way(
    setpriv: bool, command: list[str], exit_code: int, reason: str
) -> None:
    finished, _, _ = await run(command, nobody(setpriv=setpriv))
    assert (finished.exit_code, finished.reason) == (exit_code, reason)


@pytest.mark.parametrize("setpriv", [True, False], ids=["setpriv", "popen-user"])
async def test_a_file_without_a_known_format_fails_as_before(setpriv: bool, root_only_dir: Path) -> None:
    """execvp (in setpriv) would run it with /bin/sh; Popen says Exec format error."""
    plain = root_only_dir / "plain"
    plain.write_text("echo ran\n")
    plain.chmod(0o755)
    finished, out, _ = await run([str(plain)], nobody(setpriv=setpriv))
    assert (finished.exit_code, finished.reason, out) == (
        126,
        f"cannot start {str(plain)!r}: Exec format error",
        [],
    )


@pytest.mark.parametrize("setpriv", [True, False], ids=["setpriv", "popen-user"])
async def test_a_program_first_on_path_in_a_folder_only_root_may_search_is_passed_over(
    setpriv: bool, root_only_dir: Path
) -> None:
    """setpriv's execvp still has root's capabilities: it must not run root's copy."""
    for name, mode in (("closed", 0o700), ("open", 0o755)):
        (root_only_dir / name).mkdir(mode=mode)
        program = root_only_dir / name / "prog"
        program.write_text(f"#!/bin/sh\necho {name}\n")
        program.chmod(0o755)
    path = f"{root_only_dir / 'closed'}:{root_only_dir / 'open'}"
    finished, out, _ = await run(["prog"], nobody(setpriv=setpriv), {"PATH": path})
    assert (finished.exit_code, out) == (0, [b"open\n"])


def loaderless(folder: Path) -> Path:
    """A copy of ``true`` that names a dynamic loader that does not exist."""
    true = Path(shutil.which("true") or "/bin/true").read_bytes()
    loader = next(p for p in (b"/lib64/ld-linux-x86-64.so.2", b"/lib/ld-linux-aarch64.so.1") if p in true)
    broken = folder / "broken"
    broken.write_bytes(true.replace(loader, loader[:-1] + b"9"))
    broken.chmod(0o755)
    return broken


async def test_an_elf_whose_loader_is_missing_fails_in_setpriv_with_its_message(root_only_dir: Path) -> None:
    """Passes the check (the file is a native ELF the user may run); the kernel's ENOENT comes
    from setpriv's exec, which says so on stderr and exits 127, the code Popen's error gave."""
    broken = loaderless(root_only_dir)
    user = nobody(setpriv=True)
    assert surely_runs(str(broken), {}, "/", user)
    finished, _, err = await run([str(broken)], user)
    assert (finished.outcome, finished.exit_code) == (v1.AttemptOutcome.FAILED, 127)
    assert err == [f"setpriv: failed to execute {broken}: No such file or directory\n".encode()]


def test_only_a_root_owned_setpriv_in_root_only_folders_is_trusted(root_only_dir: Path) -> None:
    assert trusted_setpriv() == SETPRIV
    copy = root_only_dir / "setpriv"
    shutil.copy2(SETPRIV, copy)
    copy.chmod(0o755)
    assert trusted_setpriv(str(copy)) == str(copy)
    copy.chmod(0o775)
    assert trusted_setpriv(str(copy)) is None, "group-writable"
    copy.chmod(0o757)
    assert trusted_setpriv(str(copy)) is None, "writable by others"
    copy.chmod(0o755)
    os.chown(copy, pwd.getpwnam("nobody").pw_uid, 0)
    assert trusted_setpriv(str(copy)) is None, "not root's"
    os.chown(copy, 0, 0)
    root_only_dir.chmod(0o775)
    assert trusted_setpriv(str(copy)) is None, "in a group-writable folder"
    root_only_dir.chmod(0o755)
    link = root_only_dir / "link"
    link.symlink_to(copy)
    assert trusted_setpriv(str(link)) is None, "a symbolic link"
    assert trusted_setpriv(str(root_only_dir / "missing")) is None


async def test_a_worker_with_no_trusted_setpriv_switches_with_popen(root_only_dir: Path) -> None:
    """An untrusted setpriv that would run the job as root is never started."""
    fake = root_only_dir / "setpriv"
    fake.write_text("#!/bin/sh\necho fake\n")
    fake.chmod(0o777)
    user = replace(lookup("nobody"), setpriv=trusted_setpriv(str(fake)))
    assert user.setpriv is None
    finished, out, _ = await run(["id", "-u"], user)
    assert (finished.exit_code, out) == (0, [f"{user.uid}\n".encode()])


def test_the_worker_resolves_its_job_user_with_the_trusted_setpriv() -> None:
    user = resolve_job_user(None)
    assert user is not None and user.setpriv == SETPRIV


def test_which_programs_surely_run(root_only_dir: Path) -> None:
    user = nobody(setpriv=True)
    true = shutil.which("true")
    assert true is not None

    def made(name: str, content: bytes, mode: int = 0o755) -> str:
        path = root_only_dir / name
        path.write_bytes(content)
        path.chmod(mode)
        return str(path)

    script = made("script", b"#!/bin/sh\necho hi\n")
    elf = Path(true).read_bytes()
    foreign = bytearray(elf)
    foreign[18:20] = (0xF3).to_bytes(2, "little")  # RISC-V
    (root_only_dir / "linked").symlink_to(true)
    closed = root_only_dir / "closed"
    closed.mkdir(mode=0o700)
    (closed / "true").write_bytes(elf)
    (closed / "true").chmod(0o755)
    path = {"PATH": f"{closed}:{Path(true).parent}"}
    assert not surely_runs("true", path, "/", user), "root, not nobody, finds the first true"
    assert not surely_runs(str(closed / "true"), {}, "/", user)
    assert surely_runs(script, {}, "/", user)
    assert surely_runs("./script", {}, str(root_only_dir), user)
    assert surely_runs(str(root_only_dir / "linked"), {}, "/", user)
    assert not surely_runs(made("lost", b"#!/no/such/sh\n"), {}, "/", user), "its interpreter is missing"
    assert not surely_runs(made("relative", b"#!sh\n"), {}, "/", user)
    assert not surely_runs(made("private", b"#!/bin/sh\n", 0o700), {}, "/", user)
    assert not surely_runs(made("foreign", bytes(foreign)), {}, "/", user), "another machine's ELF"
    assert not surely_runs(true, {}, "/", replace(user, uid=0)), "root reads no mode bits"
