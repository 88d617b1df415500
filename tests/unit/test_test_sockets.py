"""The sockets in-process test servers listen on."""

from __future__ import annotations

import asyncio
import socket

from tests.support.sockets import listening_socket


async def test_a_server_on_a_test_socket_sends_small_writes_at_once() -> None:
    # Without TCP_NODELAY on the accepted side, each call to a scripted daemon stalls on
    # delayed ACKs (40 ms, several times a call).
    accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def on_accept(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        accepted.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        writer.close()

    server = await asyncio.start_server(on_accept, sock=listening_socket())
    async with server:
        _, writer = await asyncio.open_connection("127.0.0.1", server.sockets[0].getsockname()[1])
        assert await asyncio.wait_for(accepted, 10) != 0
        writer.close()
        await writer.wait_closed()
