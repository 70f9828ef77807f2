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
from contextvars import ContextVar
from typing import Any

# A socket timeout this close to the time left is kept rather than set again.
_CLOSE_ENOUGH = 0.005

_DEADLINE: ContextVar[float | None] = ContextVar("otp_tui_ledger_deadline", default=None)


class within:
    """Every socket operation of the ledger's connections inside ends `seconds` from now.

    A class rather than a generator: it runs on every ledger call, and costs less this way.
    """

    def __init__(self, seconds: float) -> None:
        self._deadline = time.monotonic() + seconds

    def __enter__(self) -> None:
        self._token = _DEADLINE.set(self._deadline)

    def __exit__(self, *exc: object) -> None:
        _DEADLINE.reset(self._token)


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
        self._applied: float | None = self._wanted

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)

    def settimeout(self, value: float | None) -> None:
        self._wanted = self._applied = value
        self._sock.settimeout(value)

    def gettimeout(self) -> float | None:
        return self._wanted

    def _bound(self) -> None:
        if self._wanted == 0:  # a poll: it does not wait
            return
        left = time_left()
        timeout = self._wanted if left is None or (self._wanted or left) < left else left
        applied = self._applied
        # Setting a timeout costs two system calls; one within a few milliseconds of the one
        # in place is kept (a fast call then costs none, a dripping one is still cut off).
        if timeout is None or applied is None or abs(applied - timeout) > _CLOSE_ENOUGH:
            self._sock.settimeout(timeout)
            self._applied = timeout

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
