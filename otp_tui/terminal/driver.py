"""The terminal driver: Textual's own, measuring the terminal it actually draws on, and sending
it only what changed.

Textual draws on stderr but asks `shutil.get_terminal_size()` for the size, which looks at
stdout. With `otp-tui --json > result.json` (how a gate runs it) stdout is a file, the answer
falls back to 80x24, and on any other size the screen is drawn for the wrong terminal: on a
short one the top scrolls away. Asking stderr's terminal instead keeps `--json` runs right,
resizes included.

Every frame passes through `ScreenDiff` on its way out, so a repaint of what the terminal
already shows costs no bytes: over a slow link (SSH from a phone, a serial console) those bytes
are what the person waits for.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

from textual import events
from textual.drivers.linux_driver import LinuxDriver

from otp_tui.terminal.screen_diff import ScreenDiff

if TYPE_CHECKING:
    from textual.message import Message

# The largest size laid out: a terminal that reports an absurd one (a resize storm up to
# 65535x65535) must not make memory and CPU grow with it. Anything larger is drawn at this size.
MAX_COLUMNS = 500
MAX_LINES = 250


class StderrSizedDriver(LinuxDriver):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._screen = ScreenDiff()
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
        return min(columns, MAX_COLUMNS), min(lines, MAX_LINES)

    def process_message(self, message: Message) -> None:
        if isinstance(message, events.Resize):  # a size reported in-band by the terminal
            self._resized = True
        super().process_message(message)

    def write(self, data: str) -> None:
        if self._resized:
            # A resized terminal may have moved or cleared what it showed.
            self._resized = False
            self._screen.forget()
        out = self._screen.write(data)
        if out:
            super().write(out)
