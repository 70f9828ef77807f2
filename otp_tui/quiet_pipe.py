"""A reader that goes away ends nothing: `otp-tui check | head -1` stays quiet and keeps its status.

Python ignores SIGPIPE, so a write to a pipe whose reader has closed raises BrokenPipeError,
and an uncaught one prints a traceback (and, at exit, "Exception ignored ... BrokenPipeError"
while flushing). git and gh end quietly instead. Here the command goes on to its end, since
its exit status is the answer a script waits for (`otp-tui check | grep -q connect` must still
say whether the check passed), and everything it would still have printed goes to /dev/null:
the first failed write points the descriptor there, as Python's own documentation advises
("Note on SIGPIPE"), so neither a later write nor the flush at exit can fail again.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Any


def _silence(stream: Any) -> None:
    """Point the stream's descriptor at /dev/null: nobody reads it any more."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


class QuietStream:
    """A text stream that turns its first BrokenPipeError into silence and carries on.

    Everything but writing and flushing is the wrapped stream's (`isatty`, `fileno`,
    `encoding`, `buffer`), so callers see the stream they always had.
    """

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return int(self._stream.write(text))
        except BrokenPipeError:
            _silence(self._stream)
            return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            _silence(self._stream)
            # What the buffer still held now goes to /dev/null; a second failure is not
            # possible there, and nothing is left to say if it were.
            with contextlib.suppress(OSError):
                self._stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def quiet_on_closed_pipe() -> None:
    """Wrap stdout and stderr for the rest of the process (idempotent)."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is not None and not isinstance(stream, QuietStream):
            setattr(sys, name, QuietStream(stream))
