"""Lines typed at the terminal, read by the event loop as they arrive.

The loop watches file descriptor 0 and reads only when the terminal has a line ready, so
nothing ever blocks on the keyboard: the expiry, the send and the signals act while the person
is not typing. The terminal stays in its ordinary line mode: it echoes what is typed and lets
the person edit the line before Enter.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable

READ_SIZE = 4096


class LineReader:
    """Hands each complete line to `deliver`, then None once input has ended (Ctrl+D, a
    hang-up, a closed descriptor)."""

    def __init__(self, deliver: Callable[[str | None], None], fd: int = 0) -> None:
        self._deliver = deliver
        self._fd = fd
        self._pending = b""
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self._fd, self._readable)

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.remove_reader(self._fd)
            self._loop = None

    def _readable(self) -> None:
        try:
            data = os.read(self._fd, READ_SIZE)
        except OSError:  # EIO: the terminal hung up; anything else: no input either way
            data = b""
        if not data:
            # Ctrl+D on an empty line. A line typed without Enter before it is dropped: only
            # Enter submits, so nothing half-typed is ever taken as an answer.
            self.stop()
            self._pending = b""
            self._deliver(None)
            return
        self._pending += data
        *lines, self._pending = self._pending.split(b"\n")
        for line in lines:
            self._deliver(line.rstrip(b"\r").decode("utf-8", "replace"))
