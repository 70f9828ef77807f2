"""A program in a real pseudo-terminal, seen from the far end of a slow serial-like link.

`SlowLink` starts a program on a fresh pty (as `pty_harness.Terminal` does) and relays its
output to a `vt_screen.Screen` at a fixed rate, 960 bytes a second for a 9600-baud line. The
relay reads from the pty only as fast as the link carries, so what the program writes beyond
that waits in the pty, and then in the program, as it would behind a serial console or a
saturated SSH connection: the program is held back by the link, not told about it. Keys go
the other way at once (a few bytes; the link's own delay for them is not what is measured).

The pacing is the link itself, in its own thread; a test waits for what the far end shows,
each wait bounded.
"""

from __future__ import annotations

import array
import contextlib
import fcntl
import os
import select
import signal
import struct
import subprocess
import termios
import threading
import time
from collections.abc import Callable, Sequence

from vt_screen import Screen


def _take_terminal() -> None:  # pragma: no cover - runs in the child between fork and exec
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class SlowLink:
    def __init__(
        self,
        argv: Sequence[str],
        env: dict[str, str],
        *,
        rate: int = 960,
        size: tuple[int, int] = (80, 24),
    ) -> None:
        master, slave = os.openpty()
        cols, rows = size
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        try:
            self.process = subprocess.Popen(
                list(argv),
                stdin=slave,
                stdout=slave,
                stderr=slave,
                env=env,
                start_new_session=True,
                preexec_fn=_take_terminal,
                close_fds=True,
            )
        finally:
            os.close(slave)
        self.master = master
        self.rate = rate
        self.screen = Screen(cols, rows)
        self.delivered = 0  # bytes that have reached the far end
        self._cond = threading.Condition()
        self._closed = False
        self._stop = threading.Event()
        self._relay = threading.Thread(target=self._carry, daemon=True)
        self._relay.start()

    def _carry(self) -> None:
        """Move output to the far end at `rate` bytes a second, a tenth of a second at a time."""
        slice_bytes = max(1, self.rate // 10)
        next_slot = time.monotonic()
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([self.master], [], [], 0.1)
                if not ready:
                    if self.process.poll() is not None:
                        break
                    continue
                data = os.read(self.master, slice_bytes)
            except OSError:  # EIO: the program has gone
                break
            if not data:
                break
            wait = next_slot - time.monotonic()
            if wait > 0:
                self._stop.wait(wait)  # the line is busy with the bytes before these
            next_slot = max(next_slot, time.monotonic()) + len(data) / self.rate
            with self._cond:
                self.screen.feed(data)
                self.delivered += len(data)
                self._cond.notify_all()
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def backlog(self) -> int:
        """Bytes the program has written that the link has not carried yet (still in the pty)."""
        pending = array.array("i", [0])
        with contextlib.suppress(OSError):
            fcntl.ioctl(self.master, termios.FIONREAD, pending)
        return int(pending[0])

    def wait_for(self, shows: Callable[[Screen], bool], timeout: float) -> float:
        """The monotonic time at which the far end first showed what `shows` looks for."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not shows(self.screen):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._closed:
                    state = "the program ended" if self._closed else f"not within {timeout} s"
                    raise AssertionError(f"{state}; the far end shows:\n{self.screen.text}")
                self._cond.wait(min(remaining, 0.1))
            return time.monotonic()

    def wait_drained(self, timeout: float) -> None:
        """Until everything the program has written so far has crossed the link."""
        deadline = time.monotonic() + timeout
        while self.backlog() > 0:
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.backlog()} bytes still waiting after {timeout} s")
            with self._cond:
                self._cond.wait(0.05)

    def send(self, data: str) -> float:
        now = time.monotonic()
        os.write(self.master, data.encode())
        return now

    def close(self) -> None:
        self._stop.set()
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)
        self._relay.join(timeout=5)
        os.close(self.master)
