"""The worker's errors: one root, one subclass per kind of failure."""

from __future__ import annotations


class WorkerError(Exception):
    """hodei-worker failed."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or "").strip())


class StreamLost(WorkerError):
    """The stream to the daemon is gone; the agent reconnects."""


class SpawnError(WorkerError):
    """A job's command could not be started."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        """The shell's convention: 127 when the command is not found, 126 otherwise."""


class StateError(WorkerError):
    """The state directory, where the worker keeps its id and credential, is not usable."""


class Refused(WorkerError):
    """The daemon refused the worker's Hello: retrying the same Hello cannot help."""


class JobUserError(WorkerError):
    """The user jobs should run as cannot be used."""
