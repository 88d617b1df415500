"""Pages of job output read once for all the readers that ask for them.

A page is what ``read_log_lines`` returns for (job, after seq, most lines, most bytes): the
stored lines after that seq, in order, as many as fit. Readers asking for the same page at once
share one query (the others await its result), and recent pages are kept, least recently used
first out, up to a number of bytes in all, so that readers a little behind each other read
them from memory.

Why a kept page stays right: stored lines never change. ``log_lines`` is only inserted into
(``ON CONFLICT DO NOTHING``: a replayed seq keeps its first line); no query updates or deletes
its rows, nor a job (whose lines would go with it); a job's retried attempt numbers its lines
on from the greatest stored seq, after those of the attempts before. So a kept page holds
stored lines, the first ones after its ``after_seq``. Read while the job was writing, it may
hold fewer than a later read would; a reader then asks for the page after its last seq and
finds the rest there: the same lines, in more pages. A page with no line is never kept (it
means "nothing more yet", which a later read contradicts), nor one with a gap in its seqs
(lines of the gap stored later would be missed by all its readers; the order in which lines
are stored rules that out today). A reader whose ``after_seq`` falls inside a kept page asks
for another key and reads its own page from storage, right by the same argument; ending pages
on round seqs (``follow._to_round``) makes its next page one the others read too.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from hodei_api import v1

PAGES_BYTES = 32 * 1024 * 1024
"""Bytes of the pages kept for all jobs together: what sharing pages costs the daemon at most,
beside the pages being read or sent."""
# A kept page's cost beside its columns: the message, six bytes objects, its key and LRU entry.
_PAGE_OVERHEAD = 512

Key = tuple[str, int, int, int]
"""Job id, after seq, most lines, most bytes of data."""


def page_bytes(page: v1.LogLines) -> int:
    """What keeping ``page`` costs, in bytes."""
    columns = (page.seqs, page.streams, page.ts_unix_micros, page.lengths, page.data, page.attempts)
    return _PAGE_OVERHEAD + sum(map(len, columns))


class PageCache:
    def __init__(self, capacity: int = PAGES_BYTES) -> None:
        self.capacity = capacity
        self.used = 0
        """Bytes of the pages kept (``page_bytes`` each), never more than ``capacity``."""
        self._pages: OrderedDict[Key, tuple[v1.LogLines, int]] = OrderedDict()
        self._reading: dict[Key, asyncio.Task[v1.LogLines]] = {}

    async def get(self, key: Key, read: Callable[[], Awaitable[v1.LogLines]]) -> v1.LogLines:
        """The page of ``key``: kept, being read for another reader, or read now by ``read``.

        A reader that is cancelled does not cancel the read others wait for."""
        if (kept := self._pages.get(key)) is not None:
            self._pages.move_to_end(key)
            return kept[0]
        if (reading := self._reading.get(key)) is None:
            reading = self._reading[key] = asyncio.create_task(self._read(key, read))
            reading.add_done_callback(_retrieve)
        return await asyncio.shield(reading)

    async def _read(self, key: Key, read: Callable[[], Awaitable[v1.LogLines]]) -> v1.LogLines:
        try:
            page = await read()
        finally:
            del self._reading[key]
        if _whole(page, after_seq=key[1]):
            self._keep(key, page)
        return page

    def _keep(self, key: Key, page: v1.LogLines) -> None:
        size = page_bytes(page)
        if size > self.capacity:
            return
        while self.used + size > self.capacity:
            _, (_, freed) = self._pages.popitem(last=False)
            self.used -= freed
        self._pages[key] = (page, size)
        self.used += size


def _whole(page: v1.LogLines, after_seq: int) -> bool:
    """Whether ``page`` holds lines, the very next ones after ``after_seq`` and none missing.

    A page with a gap is not kept: lines of a lower seq stored after it (which the order of
    storing rules out today) would be missed by every reader of the kept page."""
    if not (count := len(page.seqs) // 8):
        return False
    first = int.from_bytes(page.seqs[:8], "little", signed=True)
    last = int.from_bytes(page.seqs[-8:], "little", signed=True)
    return first == after_seq + 1 and last == after_seq + count


def _retrieve(task: asyncio.Task[v1.LogLines]) -> None:
    """Mark a read's failure as seen: its readers may all have gone before it ended."""
    if not task.cancelled():
        task.exception()
