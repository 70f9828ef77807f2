"""The terminal driver: Textual's own, measuring the terminal it actually draws on, and sending
it only what changed.

Textual draws on stderr but asks `shutil.get_terminal_size()` for the size, which looks at
stdout. With `otp-tui --json > result.json` (how a gate runs it) stdout is a file, the answer
falls back to 80x24, and on any other size the screen is drawn for the wrong terminal: on a
short one the top scrolls away. Asking stderr's terminal instead keeps `--json` runs right,
resizes included.

The size is clamped wherever it comes from, because every cell laid out costs memory and time
before anything is verified: the size asked for at start-up and on each SIGWINCH, the size a
terminal reports in-band (mode 2048, ``ESC[48;rows;cols;…t``, which anything that can write to
the terminal's input can send), and the size Rich's consoles read for themselves from the
descriptors and from ``COLUMNS``/``LINES``. A terminal larger than the clamp gets the screen in
its top-left corner.

Keys are bounded here too, on the input thread, before anything queues them: see
`otp_tui.terminal.key_backlog`. The Ctrl+C key becomes SIGINT as it is read, so that it ends a
run through the signal handler (`otp_tui.terminal.signals`) whatever the app is doing.

Every frame passes through `ScreenDiff` on its way out (on screens up to `DIFF_MAX_CELLS`), so
a repaint of what the terminal already shows costs no bytes: over a slow link (SSH from a
phone, a serial console) those bytes are what the person waits for.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import TYPE_CHECKING, Any

from textual import events
from textual.drivers.linux_driver import LinuxDriver
from textual.geometry import Size

from otp_tui.terminal.key_backlog import KeyBacklog, bounded
from otp_tui.terminal.screen_diff import ScreenDiff

if TYPE_CHECKING:
    from textual.message import Message

# The largest size laid out: a terminal that reports an absurd one (a resize storm up to
# 65535x65535, a forged in-band report) must not make memory and CPU grow with it. A 4K screen
# full of 8x16-pixel cells is 480x135, and otp-tui's screens need far less than that: a larger
# terminal gets the screen in its top-left 500x250 cells. Laid out at this size, the first
# screen takes about 1.5 MiB more than at 80x24.
MAX_COLUMNS = 500
MAX_LINES = 250
# The largest screen whose frames are diffed. What the terminal shows is kept cell by cell, a
# few hundred bytes each: at 500x250 that was 63 MiB more than the frames themselves (a first
# screen at 119 MiB against 56 MiB). The links where bytes count (a phone, a serial console)
# have small screens; a larger one gets Textual's frames as they are.
DIFF_MAX_CELLS = 250 * 80


def _signals_installed() -> bool:
    from otp_tui.terminal import signals  # loaded by then: the app installs them at mount

    return signals.installed()


def clamp(columns: int, lines: int) -> tuple[int, int]:
    """A size no larger than the largest laid out (and at least one cell)."""
    return max(1, min(columns, MAX_COLUMNS)), max(1, min(lines, MAX_LINES))


class StderrSizedDriver(LinuxDriver):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._cells = 0  # of the latest size: columns times lines
        # Before the first size event arrives, Textual takes the size from its Rich console,
        # which reads the terminal and COLUMNS/LINES on its own: both get the clamped size now.
        columns, lines = self._get_terminal_size()
        if self._size is None:
            self._size = (columns, lines)
        for console in (self._app.console, self._app.error_console):
            console.size = clamp(*console.size)
        self._screen = ScreenDiff()
        self._keys = KeyBacklog()
        # Set from a signal handler or the input thread; acted on by the next write, between
        # frames, never halfway through one.
        self._resized = False

    def _get_terminal_size(self) -> tuple[int, int]:
        self._resized = True  # asked at start-up and on every SIGWINCH
        try:
            size = os.get_terminal_size(sys.__stderr__.fileno())  # type: ignore[union-attr]
            columns, lines = size.columns or 80, size.lines or 24
        except (AttributeError, ValueError, OSError):
            columns, lines = super()._get_terminal_size()
        columns, lines = clamp(columns, lines)
        self._app.console.size = (columns, lines)
        self._cells = columns * lines
        return columns, lines

    def process_message(self, message: Message) -> None:
        if isinstance(message, events.Resize):  # a size reported in-band by the terminal
            self._resized = True
            size = Size(*clamp(*message.size))
            if size != message.size:
                # Pixels only place the mouse, which is off; a clamped size has none to match.
                message = events.Resize(size, size)
            self._app.console.size = size
            self._cells = size.area
        super().process_message(message)

    def _run_input_thread(self) -> None:
        # Textual answers a failure of its input thread with its panic screen, a whole
        # traceback on the terminal. The app's own error path says one line instead: a
        # MemoryError under the gate's memory ceiling, say, while a huge paste is collected.
        try:
            self.run_input_thread()
        except BaseException as error:
            failure = error if isinstance(error, Exception) else RuntimeError(type(error).__name__)
            self._loop.call_soon_threadsafe(self._app._handle_exception, failure)

    def send_message(self, message: Message) -> None:
        # On the input thread: a key past what the app can take is dropped here, before it is
        # queued anywhere (`otp_tui.terminal.key_backlog`).
        if isinstance(message, events.Key) and message.key == "ctrl+c" and _signals_installed():
            # The Ctrl+C key (a key, not a signal, in raw mode) ends the run as SIGINT does:
            # through the signal handler, within a second, whatever the loop is doing.
            os.kill(os.getpid(), signal.SIGINT)
            return
        if isinstance(message, events.Paste):
            message = bounded(message)
        if isinstance(message, events.Key | events.Paste) and not self._keys.admit(message):
            return
        super().send_message(message)

    def write(self, data: str) -> None:
        if self._resized:
            # A resized terminal may have moved or cleared what it showed.
            self._resized = False
            self._screen.forget()
        out = self._screen.write(data) if self._cells <= DIFF_MAX_CELLS else data
        if out:
            super().write(out)
