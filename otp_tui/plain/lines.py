"""The plain mode's terminal: lines typed, read by the event loop as they arrive, and the text
written around them.

The loop watches the input descriptor and reads only when something is there, so nothing ever
blocks on the keyboard: the expiry, the send and the signals act while the person is not typing.
On a terminal the line is edited here (`otp_tui.plain.line_editor`, which says why not
readline), so the terminal's echo and line editing are turned off while the run reads, and put
back on every way out: the end of the run, an exception, and an exit the deadline forces
(`otp_tui.terminal.signals.restore_at_forced_exit`). The keys that raise signals stay the
terminal's (ISIG): Ctrl+C is SIGINT and ends the run through the signal handlers even while the
loop is busy. From a pipe, or a terminal whose echo is off, the same editor splits the lines and
nothing is drawn.

Every line of text the front end prints goes through `say` or `interject` here, so the line
being typed is never garbled: a notice that arrives while the person types blanks the line,
is printed, and the prompt and the half-typed answer are drawn again below it.

Bounded: one read of `READ_SIZE` bytes at a time, and none while a line entered is waiting to
be answered (what was typed ahead waits in that one read); the line itself holds at most
`LINE_LIMIT` characters.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import fcntl
import os
import signal
import struct
import termios
from collections.abc import Callable
from typing import Any, TextIO

from otp_tui.plain.line_display import LineDisplay
from otp_tui.plain.line_editor import EndOfInput, Entered, LineEditor

READ_SIZE = 4096
DEFAULT_COLUMNS = 80  # a terminal that does not say its width (a serial line, a bare pty)


class LineReader:
    """Hands each line entered to `deliver`, then None once input has ended (Ctrl+D on an
    empty line, a hang-up, a closed descriptor). After each line, nothing more is read until
    `taken` says it has been answered."""

    def __init__(
        self,
        deliver: Callable[[str | None], None],
        fd: int,
        out: TextIO,
        on_error: Callable[[Exception], None],
    ) -> None:
        self._deliver = deliver
        self._on_error = on_error  # a failure while reading: the run ends, never verified
        self._fd = fd
        self._out = out
        self._editor = LineEditor()
        self._display = LineDisplay()
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._ahead = ""  # read, not yet fed: typed after a line that is waiting for its answer
        self._waiting = False  # a line was entered and is not answered yet
        self._loop: asyncio.AbstractEventLoop | None = None
        self._saved: list[Any] | None = None  # the terminal's mode before we changed it
        # Whether the line is edited and drawn here: on a terminal that echoes. A pipe, or a
        # terminal whose echo is off (Emacs' shell buffer edits and shows the line itself, then
        # sends it whole), is read line by line with nothing drawn, its mode left alone.
        self._editing = os.isatty(fd)

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        if self._editing:
            self._edit_mode()
            with contextlib.suppress(ValueError, RuntimeError):  # not the main thread
                self._loop.add_signal_handler(signal.SIGWINCH, self._resized)
        self._loop.add_reader(self._fd, self._readable)

    def stop(self) -> None:
        if self._loop is not None:
            with contextlib.suppress(ValueError, OSError):  # a descriptor closed under us
                self._loop.remove_reader(self._fd)
            with contextlib.suppress(ValueError, RuntimeError):
                self._loop.remove_signal_handler(signal.SIGWINCH)
            self._loop = None
        self._restore_mode()

    def taken(self) -> None:
        """The line delivered last has been answered: go on with what was typed after it."""
        if not self._waiting or self._loop is None:
            return
        self._waiting = False
        self._loop.add_reader(self._fd, self._readable)
        self._feed("")

    # -- what the front end writes ---------------------------------------------------------

    def ask(self, prompt: str) -> None:
        """Write `prompt` at the start of a line, with what was typed ahead after it."""
        if not self._editing:
            self._write(self._display.leave() + prompt)
            self._display.prompt = prompt
            return
        editor = self._editor
        self._write(self._display.ask(prompt, editor.clusters, editor.cursor, self._columns()))

    def say(self, text: str) -> None:
        """Lines of text below the prompt left as it stands; text typed with no prompt before
        it is taken off the screen (it is drawn again after the next prompt)."""
        display = self._display
        if self._editing and not display.prompt:
            self._write(display.erase() + text + "\n")
        else:
            self._write(display.leave() + text + "\n")

    def interject(self, text: str) -> None:
        """Lines of text nobody typed for (the expiry, a slow send): written where the line
        being typed was, which is then drawn again below them, still being edited."""
        prompt = self._display.prompt
        if not self._editing:
            self.say(text)
            if prompt:
                self.ask(prompt)
            return
        self._write(self._display.erase() + text + "\n")
        if prompt:
            self.ask(prompt)
        else:
            self._draw()

    @property
    def prompt(self) -> str:
        """The prompt open on the terminal's last line, "" for none."""
        return self._display.prompt

    # -- reading ---------------------------------------------------------------------------

    def _readable(self) -> None:
        try:
            data = os.read(self._fd, READ_SIZE)
        except OSError:  # EIO: the terminal hung up; anything else: no input either way
            data = b""
        if not data:
            # A line typed without Enter before the end is dropped: only Enter submits, so
            # nothing half-typed is ever taken as an answer.
            self._ended()
            return
        try:
            self._feed(self._decoder.decode(data))
        except Exception as error:
            # Not left to asyncio's handler, whose traceback could show the line typed.
            self.stop()
            self._on_error(error)

    def _feed(self, text: str) -> None:
        event, self._ahead = self._editor.feed(self._ahead + text)
        if isinstance(event, EndOfInput):
            self._ended()
        elif isinstance(event, Entered):
            self._waiting = True
            if self._loop is not None:
                self._loop.remove_reader(self._fd)
            self._draw()  # the line as entered, whole, stays on screen above what follows
            self._editor.clear()
            self._write("\n" if self._editing else "")  # Enter goes to a fresh line
            self._display.forget()
            self._deliver(event.line)
        else:
            self._draw()

    def _ended(self) -> None:
        self.stop()
        self._ahead = ""
        self._deliver(None)

    # -- the terminal ----------------------------------------------------------------------

    def _resized(self) -> None:
        # A terminal made narrower than the line drawn has cut or wrapped it, and CR and BS no
        # longer reach its start: it is left as it is and drawn again below, to the new width.
        if not self._display.drawn:
            return
        if self._columns() < self._display.width:
            prompt = self._display.prompt
            self._write(self._display.leave())
            if prompt:
                self.ask(prompt)
                return
        self._draw()

    def _draw(self) -> None:
        if self._editing:
            editor = self._editor
            self._write(self._display.update(editor.clusters, editor.cursor, self._columns()))

    def _write(self, text: str) -> None:
        if not text:
            return
        # A terminal that has gone cannot be told anything; the hang-up ends the run.
        with contextlib.suppress(OSError):
            self._out.write(text)
            self._out.flush()

    def _columns(self) -> int:
        try:
            size = fcntl.ioctl(self._fd, termios.TIOCGWINSZ, b"\0" * 8)
        except OSError:
            return DEFAULT_COLUMNS
        columns = struct.unpack("HHHH", size)[1]
        return columns if columns > 0 else DEFAULT_COLUMNS

    def _edit_mode(self) -> None:
        from otp_tui.terminal.signals import restore_at_forced_exit

        try:
            saved = termios.tcgetattr(self._fd)
        except termios.error:
            self._editing = False  # not a terminal after all: read it as a pipe
            return
        if not saved[3] & termios.ECHO:
            self._editing = False
            return
        mode = list(saved)
        mode[3] &= ~(termios.ECHO | termios.ICANON | termios.IEXTEN)  # ISIG stays on
        mode[6] = list(saved[6])
        mode[6][termios.VMIN], mode[6][termios.VTIME] = 1, 0
        self._saved = saved
        restore_at_forced_exit(self._restore_mode)
        with contextlib.suppress(termios.error):
            termios.tcsetattr(self._fd, termios.TCSANOW, mode)

    def _restore_mode(self) -> None:
        saved, self._saved = self._saved, None
        if saved is None:
            return
        from otp_tui.terminal.signals import restore_at_forced_exit

        restore_at_forced_exit(None)
        # TCSANOW: never wait for output a stalled terminal is not reading; a terminal that has
        # hung up cannot be restored and needs no restoring.
        with contextlib.suppress(termios.error, OSError):
            termios.tcsetattr(self._fd, termios.TCSANOW, saved)
