"""The ``local`` provider: ``hodei-worker`` subprocesses of this Python environment on the
daemon's host, connected to the daemon's own address, each ended by its PID; what they write
is logged through the daemon's logging (``childlog``)."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from hodeid.control.providers.base import Limits, Provider
from hodeid.control.providers.childlog import relay
from hodeid.domain.scaling import Offer
from hodeid.errors import ProviderError

log = logging.getLogger(__name__)

# How long a worker told to stop may take to cancel its jobs and report before SIGKILL.
STOP_GRACE = 15.0
# How long the last lines of a stopped worker may take to be logged.
RELAY_GRACE = 5.0
_PR_SET_PDEATHSIG = 1
# Looked up here, not in the forked child, where loading a library could deadlock.
_prctl = ctypes.CDLL(None).prctl if sys.platform == "linux" else None


def _die_with_parent() -> None:
    # A daemon killed with SIGKILL cannot end its workers; the kernel does it for it.
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class LocalProvider(Provider):
    kind = "local"
    shared = False

    def __init__(
        self,
        name: str,
        offer: Offer,
        limits: Limits,
        server: str,
        bin_dir: Path | None = None,
        flags: Sequence[str] = (),
    ) -> None:
        super().__init__(name, offer, limits)
        self.server = server
        # hodei-worker's --tls-* flags when hodeid serves TLS, and its --job-user if set.
        self.flags = list(flags)
        self.program = (bin_dir or Path(sys.executable).parent) / "hodei-worker"
        self.processes: dict[str, asyncio.subprocess.Process] = {}
        self._relays: dict[str, asyncio.Task[None]] = {}

    async def create(self, worker_id: str, token: str) -> None:
        offer = self.offer
        args = [
            "--server", self.server, "--id", worker_id, "--slots", str(offer.slots),
            "--cpu", f"{offer.cpu:g}", "--memory", str(offer.memory_mb), *self.flags,
        ]  # fmt: skip
        for key, value in sorted(offer.labels.items()):
            args += ["--label", f"{key}={value}"]
        # The daemon's own HODEI_* settings are not the worker's: it gets only its token.
        env = {k: v for k, v in os.environ.items() if not k.startswith("HODEI_")}
        env["HODEI_JOIN_TOKEN"] = token
        try:
            process = await asyncio.create_subprocess_exec(
                self.program, *args, env=env, stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
                preexec_fn=_die_with_parent,
            )  # fmt: skip
        except OSError as exc:
            raise ProviderError(f"cannot start {self.program}: {exc.strerror or exc}") from exc
        self.processes[worker_id] = process
        assert process.stdout is not None
        task = asyncio.create_task(relay(process.stdout, worker_id), name=f"output of {worker_id}")
        self._relays[worker_id] = task
        task.add_done_callback(lambda _: self._relays.pop(worker_id, None))
        log.info("local provider started worker %s (pid %d)", worker_id, process.pid)

    def exited(self, worker_id: str) -> str | None:
        process = self.processes.get(worker_id)
        if process is None or process.returncode is None:
            return None
        return f"exited with code {process.returncode}"

    async def destroy(self, worker_id: str) -> None:
        process = self.processes.pop(worker_id, None)
        if process is not None and process.returncode is None:
            await self._stop(worker_id, process)
        if (task := self._relays.get(worker_id)) is not None:
            # Its last lines (why it stopped) are worth the wait; a pipe some other process
            # inherited and holds open is not.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(task, RELAY_GRACE)

    @staticmethod
    async def _stop(worker_id: str, process: asyncio.subprocess.Process) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), STOP_GRACE)
        except TimeoutError:
            log.warning("worker %s (pid %d) ignored SIGTERM; killing it", worker_id, process.pid)
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGKILL)
            await process.wait()
