"""The failures of hodei itself; each ends the CLI with one ``hodei: …`` line and exit code 125."""

from __future__ import annotations


class HodeiError(Exception):
    """hodei failed."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.__doc__)


class UsageError(HodeiError):
    """The command line is not valid (see 'hodei --help')."""


class DaemonUnreachable(HodeiError):
    """Cannot reach hodeid; start it with 'hodeid' or point --addr/HODEI_ADDR at a running daemon."""


class RequestRefused(HodeiError):
    """hodeid refused the request."""
