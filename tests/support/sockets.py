"""Listening sockets for the servers tests start in-process."""

from __future__ import annotations

import socket


def listening_socket(port: int = 0) -> socket.socket:
    """A TCP socket bound on 127.0.0.1 (``port``, or a free one), for ``server.start(sock=...)``.

    IPPROTO_TCP is named because asyncio sets TCP_NODELAY only on sockets whose proto says TCP:
    a server on a socket made with proto 0 (``socket.socket()``, ``socket.create_server``)
    holds each small write back until the peer acknowledges the last one, which on loopback
    costs a delayed ACK (40 ms) several times per call. SO_REUSEADDR lets a server brought back
    up take the port it had before, as a restarted daemon would.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    return sock
