"""One deadline for a whole ledger operation, however many reads and writes it takes.

A socket timeout bounds each read alone: a server (or a proxy) that sends one byte every two
seconds never trips a three-second timeout, and an operation could last for minutes. So each
operation sets a deadline (`within`), and every socket of the ledger's connections takes the time
left before it as its timeout before each read or write, and fails at once when none is left.
The connect and the TLS handshake get the time left as well.

The deadline is a context variable: the code between the ledger and the socket (redis-py's
parser, its Sentinel and Cluster clients) needs no change to carry it, and threads that run
operations at the same time each have their own.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

_DEADLINE: ContextVar[float | None] = ContextVar("otp_tui_ledger_deadline", default=None)


@contextmanager
def within(seconds: float) -> Iterator[None]:
    """Every socket operation of the ledger's connections inside ends `seconds` from now."""
    token = _DEADLINE.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def time_left() -> float | None:
    """Seconds left before the deadline in force (raises the timeout when none is left), or
    None outside any operation."""
    deadline = _DEADLINE.get()
    if deadline is None:
        return None
    left = deadline - time.monotonic()
    if left <= 0:
        # What a socket with a timeout raises: redis-py reports it as its TimeoutError.
        raise TimeoutError("timed out")
    return left


class DeadlineSocket:
    """A socket (plain or TLS) whose reads and writes end by the deadline in force."""

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self._wanted: float | None = sock.gettimeout()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)

    def settimeout(self, value: float | None) -> None:
        self._wanted = value
        self._sock.settimeout(value)

    def gettimeout(self) -> float | None:
        return self._wanted

    def _bound(self) -> None:
        if self._wanted == 0:  # a poll: it does not wait
            return
        left = time_left()
        if left is None:
            self._sock.settimeout(self._wanted)
        else:
            self._sock.settimeout(left if self._wanted is None else min(self._wanted, left))

    def recv(self, *args: Any) -> Any:
        self._bound()
        return self._sock.recv(*args)

    def recv_into(self, *args: Any) -> Any:
        self._bound()
        return self._sock.recv_into(*args)

    def send(self, *args: Any) -> Any:
        self._bound()
        return self._sock.send(*args)

    def sendall(self, *args: Any) -> Any:
        self._bound()
        return self._sock.sendall(*args)


class _DeadlineConnection:
    """Mixed into a redis-py connection class: its connect, TLS handshake and socket keep the
    deadline in force."""

    socket_connect_timeout: float | None
    socket_timeout: float | None

    def _connect(self) -> Any:
        left = time_left()
        if left is None:
            return DeadlineSocket(super()._connect())  # type: ignore[misc]
        kept = self.socket_connect_timeout, self.socket_timeout
        # The connect, and the TLS handshake (bounded as a whole by the socket's timeout).
        self.socket_connect_timeout = self.socket_timeout = min(left, kept[0] or left)
        try:
            sock = super()._connect()  # type: ignore[misc]
        finally:
            self.socket_connect_timeout, self.socket_timeout = kept
        sock.settimeout(self.socket_timeout)
        return DeadlineSocket(sock)


@functools.cache
def with_deadline(connection_class: type[Any]) -> type[Any]:
    """`connection_class` (redis-py's Connection, SSLConnection, a Sentinel-managed one...) with
    its sockets bound by the deadline in force."""
    if issubclass(connection_class, _DeadlineConnection):
        return connection_class
    return type(f"Deadline{connection_class.__name__}", (_DeadlineConnection, connection_class), {})
