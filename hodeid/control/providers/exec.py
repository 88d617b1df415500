"""The ``exec`` provider: operator commands create and destroy workers (ssh, docker,
kubectl, a cloud CLI), run with ``sh -c`` as Slurm runs its ResumeProgram."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shlex
import signal
import tempfile
from collections.abc import Mapping

from hodeid.control.providers.base import Limits, Provider
from hodeid.domain.scaling import Offer
from hodeid.errors import ProviderError

PLACEHOLDER = re.compile(r"\{(worker_id|addr|token|labels)\}")
# How much of a failed command's output goes into the provider's last error.
OUTPUT_TAIL = 300


def render(template: str, values: Mapping[str, str]) -> str:
    """``template`` with each known placeholder replaced by its shell-quoted value; other
    braces (``${HOME}``, ``awk '{print}'``) are left as they are."""
    return PLACEHOLDER.sub(lambda m: shlex.quote(values[m.group(1)]), template)


class ExecProvider(Provider):
    kind = "exec"

    def __init__(
        self, name: str, offer: Offer, limits: Limits, server: str, create: str, destroy: str = ""
    ) -> None:
        super().__init__(name, offer, limits)
        self.server = server
        self.create_command = create
        self.destroy_command = destroy

    async def create(self, worker_id: str, token: str) -> None:
        await self._run("create", self.create_command, worker_id, token)

    async def destroy(self, worker_id: str) -> None:
        if self.destroy_command:
            await self._run("destroy", self.destroy_command, worker_id, "")

    async def _run(self, what: str, template: str, worker_id: str, token: str) -> None:
        labels = ",".join(f"{k}={v}" for k, v in sorted(self.offer.labels.items()))
        values = {"worker_id": worker_id, "addr": self.server, "token": token, "labels": labels}
        command = render(template, values)
        env = {k: v for k, v in os.environ.items() if not k.startswith("HODEI_")}
        timeout = self.limits.provisioning_timeout
        # A file, not a pipe: a worker the command starts in the background would hold a
        # pipe open, and reading it to the end would wait for that worker to exit.
        with tempfile.TemporaryFile() as output:
            try:
                process = await asyncio.create_subprocess_exec(
                    "/bin/sh", "-c", command, stdin=asyncio.subprocess.DEVNULL, stdout=output,
                    stderr=output, env=env, start_new_session=True,
                )  # fmt: skip
            except OSError as exc:
                raise ProviderError(f"{what} command cannot start: {exc.strerror or exc}") from exc
            try:
                code = await asyncio.wait_for(process.wait(), timeout)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                await process.wait()
                raise ProviderError(f"{what} command did not finish within {timeout:g} s") from None
            if code != 0:
                output.seek(0)
                tail = output.read().decode(errors="replace").strip()[-OUTPUT_TAIL:]
                said = f": {' '.join(tail.split())}" if tail else ""
                raise ProviderError(f"{what} command exited with {code}{said}")
