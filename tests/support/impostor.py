"""A TCP service that is not hodeid, for the clients' and the worker's "not hodeid" messages."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def impostor(reply: bytes | None) -> Iterator[tuple[int, list[bytes]]]:
    """A TCP server on 127.0.0.1 that, once it has read a client's first bytes, answers
    ``reply`` (as Redis answers an HTTP/2 preface) or nothing; yields its port and what it read."""
    server = socket.create_server(("127.0.0.1", 0))
    received: list[bytes] = []
    done = threading.Event()

    def serve() -> None:
        with server:
            connection, _ = server.accept()
            with connection:
                received.append(connection.recv(65536))
                if reply is not None:
                    connection.sendall(reply)
                done.wait(60)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1], received
    finally:
        done.set()
        thread.join(10)
