"""``hodei job logs``, and the two ways a job's log is written out."""

from __future__ import annotations

import argparse
import json
import sys
from typing import BinaryIO, TextIO

from hodei_api import v1
from hodei_api.loglines import stdout_data, unpack
from hodei_api.printable import json_printable, printable
from hodei_tui.backend import Backend
from hodei_tui.cli.exit_codes import OK
from hodei_tui.cli.follow import LogSink, follow_log
from hodei_tui.cli.render_jobs import log_line_to_dict


class RawSink:
    """The bytes as the job wrote them: its stdout to ours and its stderr to ours, so a
    pipeline sees only the job's output; hodei's own notes go to stderr marked ``hodei:``."""

    def __init__(self, out: BinaryIO, err: BinaryIO) -> None:
        self._out = out
        self._err = err

    def write(self, lines: v1.LogLines) -> None:
        """Write one chunk's lines and flush both streams."""
        if (data := stdout_data(lines)) is not None:
            # Only the job's stdout, as most chunks are: one write, no object per line.
            self._out.write(data)
            self._out.flush()
            return
        for line in unpack(lines):
            if line.stream == v1.LogStream.STDOUT:
                self._out.write(line.data)
            elif line.stream == v1.LogStream.STDERR:
                self._err.write(line.data)
            else:
                # hodei's own note, which may quote the command that would not start: shown
                # as data, unlike the job's bytes above.
                note = printable(line.data.decode(errors="replace").removesuffix("\n"))
                self._err.write(f"hodei: {note}\n".encode())
        self._out.flush()
        self._err.flush()


class JsonlSink:
    """One JSON object per line, for programs that read the log."""

    def __init__(self, out: TextIO) -> None:
        self._out = out

    def write(self, lines: v1.LogLines) -> None:
        """Write one object per line and flush."""
        for line in unpack(lines):
            self._out.write(json_printable(json.dumps(log_line_to_dict(line), ensure_ascii=False)) + "\n")
        self._out.flush()


async def logs_command(args: argparse.Namespace, backend: Backend) -> int:
    """``hodei job logs ID [-f] [-o jsonl] [--after SEQ]``."""
    # Asking for the job first makes a wrong id or a stopped daemon fail at once, where the
    # follower would wait for a daemon it has never reached.
    await backend.get_job(args.id)
    sink: LogSink = (
        JsonlSink(sys.stdout) if args.output == "jsonl" else RawSink(sys.stdout.buffer, sys.stderr.buffer)
    )
    await follow_log(backend, args.id, sink, after_seq=args.after, follow=args.follow)
    return OK
