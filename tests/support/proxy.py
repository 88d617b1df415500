"""A TCP relay on 127.0.0.1 between a worker and its daemon, whose connections a test can cut
for real (both sides see their socket closed) while it keeps accepting new ones."""

from __future__ import annotations

import contextlib
import socket
import threading


class Proxy:
    """Relays every connection made to ``port`` to 127.0.0.1:``target_port``."""

    def __init__(self, target_port: int, record: bool = False) -> None:
        self.target_port = target_port
        self.sent = bytearray()
        """With ``record``, every byte clients sent through the relay."""
        self._record = record
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self.connections = 0
        """Connections accepted so far."""
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, name=f"proxy :{self.port}", daemon=True).start()

    @property
    def addr(self) -> str:
        return f"127.0.0.1:{self.port}"

    def cut(self) -> int:
        """Close every relayed connection now, both ends; return how many were open."""
        with self._lock:
            ends, self._open = self._open, set()
        for end in ends:
            _close(end)
        return len(ends) // 2

    def close(self) -> None:
        """Stop accepting and cut what is open."""
        self._closed = True
        _close(self._listener)
        self.cut()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                _close(client)  # the daemon is down: so is the worker's connection
                continue
            with self._lock:
                self._open |= {client, upstream}
                self.connections += 1
            for src, dst, record in ((client, upstream, self._record), (upstream, client, False)):
                threading.Thread(target=self._pump, args=(src, dst, record), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, record: bool) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                if record:
                    self.sent += data
                dst.sendall(data)
        # One side ended or failed: end the relay, as a broken path would.
        with self._lock:
            self._open -= {src, dst}
        _close(src)
        _close(dst)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()
