"""The exit statuses of ``hodei`` (``job_exit`` maps a finished job onto them)."""

from __future__ import annotations

OK = 0
# The codes below follow coreutils' timeout(1) and shells, so scripts read them the same way.
TIMED_OUT = 124
HODEI_FAILED = 125
SIGNAL_BASE = 128
INTERRUPTED = 130
CANCELLED = 130
# What a shell reports for a process killed by SIGPIPE, for a reader that went away.
BROKEN_PIPE = 141
