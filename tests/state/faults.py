"""Servers on 127.0.0.1 that misbehave the way networks and strangers do, for the ledger's
failure tests: a proxy that drips a real server's replies a byte at a time, and a listener that
answers whatever it is sent with something that is not Redis."""

from __future__ import annotations

import socket
import threading
from typing import Any

LOOPBACK = "127.0.0.1"


class _Listener:
    """A loopback listener that hands each connection to `serve` on a thread of its own."""

    def __init__(self) -> None:
        self.socket = socket.socket()
        self.socket.bind((LOOPBACK, 0))
        self.socket.listen(16)
        self.port = int(self.socket.getsockname()[1])
        self.closed = threading.Event()
        self._open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                client, _address = self.socket.accept()
            except OSError:
                return
            self._open.append(client)
            threading.Thread(target=self._guarded, args=(client,), daemon=True).start()

    def _guarded(self, client: socket.socket) -> None:
        try:
            self.serve(client)
        except OSError:
            pass
        finally:
            client.close()

    def serve(self, client: socket.socket) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.closed.set()
        self.socket.close()
        for sock in self._open:
            sock.close()

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class DrippingProxy(_Listener):
    """Forwards to a real server at once, and its replies back one byte every `interval`."""

    def __init__(self, target_port: int, interval: float = 2.0) -> None:
        self.target_port = target_port
        self.interval = interval
        super().__init__()

    def serve(self, client: socket.socket) -> None:
        server = socket.create_connection((LOOPBACK, self.target_port), timeout=10)
        self._open.append(server)
        threading.Thread(target=self._forward, args=(client, server), daemon=True).start()
        server.settimeout(None)
        pending = b""
        while not self.closed.is_set():
            if not pending:
                pending = server.recv(65536)
                if not pending:
                    return
            client.sendall(pending[:1])
            pending = pending[1:]
            self.closed.wait(self.interval)

    def _forward(self, client: socket.socket, server: socket.socket) -> None:
        try:
            while chunk := client.recv(65536):
                server.sendall(chunk)
        except OSError:
            pass


class NotRedis(_Listener):
    """Answers every chunk it is sent with `reply` (valid RESP of the wrong shape, an HTTP
    error, an SSH banner...)."""

    def __init__(self, reply: bytes) -> None:
        self.reply = reply
        super().__init__()

    def serve(self, client: socket.socket) -> None:
        client.settimeout(10)
        while client.recv(65536):
            client.sendall(self.reply)
