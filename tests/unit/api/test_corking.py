"""Corked writes over a real loopback connection: what one round of the event loop writes leaves
in one write of the real transport, in order; a backlog, ``close`` and ``abort`` as documented."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from hodei_api.corking import FLUSH_AT, Corked


class Recording(asyncio.Transport):
    """The real transport, with the writes made to it noted."""

    def __init__(self, real: asyncio.Transport) -> None:
        super().__init__()
        self.real = real
        self.writes: list[bytes] = []

    def write(self, data: Any) -> None:
        self.writes.append(bytes(data))
        self.real.write(data)

    def close(self) -> None:
        self.real.close()

    def abort(self) -> None:
        self.real.abort()

    def is_closing(self) -> bool:
        return self.real.is_closing()

    def get_write_buffer_size(self) -> int:
        return self.real.get_write_buffer_size()


class Peer:
    def __init__(self) -> None:
        self.received = bytearray()
        self.ended = asyncio.Event()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while chunk := await reader.read(1 << 20):
                self.received += chunk
        except ConnectionResetError:
            pass  # an abort
        finally:
            self.ended.set()
            writer.close()
            await writer.wait_closed()


@pytest.fixture
async def link() -> AsyncIterator[tuple[Corked, Recording, Peer]]:
    peer = Peer()
    server = await asyncio.start_server(peer.serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_connection(asyncio.Protocol, "127.0.0.1", port)
    recording = Recording(transport)
    yield Corked(recording), recording, peer
    transport.abort()
    await asyncio.wait_for(peer.ended.wait(), 10)
    server.close()
    await server.wait_closed()


async def test_the_writes_of_one_round_leave_in_one_write_in_order(
    link: tuple[Corked, Recording, Peer],
) -> None:
    corked, recording, peer = link
    for part in (b"headers", b"", b"message", bytearray(b"trailers")):
        corked.write(part)
    assert recording.writes == []
    assert corked.get_write_buffer_size() == len(b"headersmessagetrailers")
    await asyncio.sleep(0)  # the round ends
    assert recording.writes == [b"headersmessagetrailers"]
    corked.write(b"next")
    await asyncio.sleep(0)
    assert recording.writes == [b"headersmessagetrailers", b"next"]
    corked.close()
    await asyncio.wait_for(peer.ended.wait(), 10)
    assert bytes(peer.received) == b"headersmessagetrailersnext"


async def test_a_backlog_leaves_at_once(link: tuple[Corked, Recording, Peer]) -> None:
    corked, recording, _ = link
    corked.write(b"a")
    corked.write(b"b" * FLUSH_AT)
    assert recording.writes == [b"a" + b"b" * FLUSH_AT]
    await asyncio.sleep(0)
    assert len(recording.writes) == 1  # the scheduled flush found nothing left


async def test_close_sends_what_is_held_first(link: tuple[Corked, Recording, Peer]) -> None:
    corked, recording, peer = link
    corked.writelines([b"last ", b"words"])
    corked.close()
    assert recording.writes == [b"last words"]
    await asyncio.wait_for(peer.ended.wait(), 10)
    assert bytes(peer.received) == b"last words"


async def test_abort_drops_what_is_held(link: tuple[Corked, Recording, Peer]) -> None:
    corked, recording, peer = link
    corked.write(b"never sent")
    corked.abort()
    await asyncio.sleep(0)
    assert recording.writes == []
    await asyncio.wait_for(peer.ended.wait(), 10)
    assert bytes(peer.received) == b""
