"""The terminal driver: Textual's own, measuring the terminal it actually draws on.

Textual draws on stderr but asks `shutil.get_terminal_size()` for the size, which looks at
stdout. With `otp-tui --json > result.json` (how a gate runs it) stdout is a file, the answer
falls back to 80x24, and on any other size the screen is drawn for the wrong terminal: on a
short one the top scrolls away. Asking stderr's terminal instead keeps `--json` runs right,
resizes included.
"""

from __future__ import annotations

import os
import sys

from textual.drivers.linux_driver import LinuxDriver

# The largest size laid out: a terminal that reports an absurd one (a resize storm up to
# 65535x65535) must not make memory and CPU grow with it. Anything larger is drawn at this size.
MAX_COLUMNS = 500
MAX_LINES = 250


class StderrSizedDriver(LinuxDriver):
    def _get_terminal_size(self) -> tuple[int, int]:
        try:
            size = os.get_terminal_size(sys.__stderr__.fileno())  # type: ignore[union-attr]
            columns, lines = size.columns or 80, size.lines or 24
        except (AttributeError, ValueError, OSError):
            columns, lines = super()._get_terminal_size()
        return min(columns, MAX_COLUMNS), min(lines, MAX_LINES)
