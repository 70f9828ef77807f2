"""The Redis ledger's connections to one server, kept open from one operation to the next.

Each is made by the client's pool (its address, TLS, password and timeouts), but not taken from
it per call: redis-py's checkout and its client's command wrapper cost about 40 µs of CPU a call
where the benchmark ran, twice the script's own time on the server. One connection is kept,
unless threads call at the same time; a forked child never uses its parent's sockets.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Protocol

from otp_tui.state.redis_errors import SHAPE_ERRORS, NotRedisError
from otp_tui.state.redis_scripts import ScriptConnection


class RawConnection(ScriptConnection, Protocol):
    """The part of a redis-py `Connection` (or its TLS kind) the ledger uses."""

    def connect(self) -> None: ...

    def disconnect(self) -> None: ...

    def can_read(self) -> bool: ...


# Counts the forks this process is a child of, so that a kept connection knows it was made in
# a parent without asking the kernel for the process id on every call (a system call).
_forks = 0


def _forked() -> None:
    global _forks
    _forks += 1


os.register_at_fork(after_in_child=_forked)


class KeptConnections:
    """Connections made by `make`, lent one at a time to each caller."""

    def __init__(self, make: Callable[[], RawConnection], stale: tuple[type[Exception], ...]):
        self._make = make
        # What `can_read` raises for a socket the server has closed (besides OSError).
        self._stale = stale
        self._forget()

    def _forget(self) -> None:
        self._forks = _forks
        self._lock = threading.Lock()
        self._idle: list[RawConnection] = []
        self._made: list[RawConnection] = []

    def take(self) -> RawConnection:
        """A connected connection for one operation, to `give_back` afterwards (after
        disconnecting it if the operation failed: a reply that came late, or the rest of a
        garbled one, must never be read as the next command's)."""
        connection = self._take()
        try:
            self._ready(connection)
        except BaseException:
            connection.disconnect()
            self.give_back(connection)
            raise
        return connection

    def give_back(self, connection: RawConnection) -> None:
        with self._lock:
            self._idle.append(connection)

    def _take(self) -> RawConnection:
        if self._forks != _forks:  # a forked child: the parent's sockets are not its own
            self._forget()
        with self._lock:
            if self._idle:
                return self._idle.pop()
            connection = self._make()
            self._made.append(connection)
            return connection

    def _ready(self, connection: RawConnection) -> None:
        # redis-py's connect() returns at once when connected, but only after going through
        # its retry wrapper; its socket attribute says it more cheaply.
        if getattr(connection, "_sock", None) is None:
            self._connect(connection)
        # A kept connection the server has closed (its idle timeout, a restart) or that holds
        # a reply nobody read is replaced by a fresh one: the check redis-py's pool makes at
        # each checkout, one poll of the socket.
        try:
            stale = connection.can_read()
        except OSError:
            stale = True
        except self._stale:
            stale = True
        if stale:
            connection.disconnect()
            self._connect(connection)

    @staticmethod
    def _connect(connection: RawConnection) -> None:
        try:
            connection.connect()
        except SHAPE_ERRORS as error:
            # redis-py read a handshake reply of a shape Redis never sends.
            raise NotRedisError from error

    def close(self) -> None:
        # Without the lock: a call stuck on a silent server ends now. A connection used again
        # afterwards reconnects.
        for connection in list(self._made):
            connection.disconnect()
