"""The writes of one moment sent in one system call.

grpclib writes each HTTP/2 step of a call to its transport as soon as it makes it: a unary
answer is three writes (headers, message, trailers) and a request two, each one a ``send``
system call here and a wake-up on the other side. On the daemon those calls were a third of its
busy time under a stream of submits (py-spy, ``_SelectorSocketTransport.write``).

``Corked`` holds what is written while the event loop runs one round of callbacks and sends it
as one write when that round ends, as the kernel's TCP_CORK would, or Go's HTTP/2 server, which
flushes its buffer once no more frames are queued. Nothing waits past the current round; a
backlog of ``FLUSH_AT`` bytes goes out at once; ``close`` sends what is held first, ``abort``
drops it. ``CorkedH2Protocol`` is grpclib's protocol on such a transport, for the clients here and
the daemon's server (``hodeid.api.corked_server``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from grpclib.protocol import H2Protocol

FLUSH_AT = 64 * 1024


class Corked(asyncio.Transport):
    """``transport`` with the writes of each round of the event loop joined into one."""

    def __init__(self, transport: asyncio.Transport) -> None:
        super().__init__()
        self._transport = transport
        self._loop = asyncio.get_running_loop()
        self._held: list[bytes] = []
        self._size = 0
        self._scheduled = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        self._held.append(bytes(data))
        self._size += len(data)
        if self._size >= FLUSH_AT:
            self.flush()
        elif not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self._flush_scheduled)

    def writelines(self, list_of_data: Iterable[bytes | bytearray | memoryview]) -> None:
        for data in list_of_data:
            self.write(data)

    def flush(self) -> None:
        """Send what is held now (dropped if the connection is already closing)."""
        if not self._held:
            return
        data = self._held[0] if len(self._held) == 1 else b"".join(self._held)
        self._held.clear()
        self._size = 0
        if not self._transport.is_closing():
            self._transport.write(data)

    def _flush_scheduled(self) -> None:
        self._scheduled = False
        self.flush()

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._held.clear()
        self._size = 0
        self._transport.abort()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def can_write_eof(self) -> bool:
        return self._transport.can_write_eof()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + self._size

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._transport.get_write_buffer_limits()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._transport.set_write_buffer_limits(high, low)

    def pause_reading(self) -> None:
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()

    def is_reading(self) -> bool:
        return self._transport.is_reading()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._transport.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._transport.get_protocol()


class CorkedH2Protocol(H2Protocol):
    """grpclib's HTTP/2 protocol writing through ``Corked``."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        super().connection_made(Corked(transport))
