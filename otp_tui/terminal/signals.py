"""Signals while a front end runs: a dropped connection, a kill, Ctrl+C, Ctrl+Z.

Shared by the Textual app and the plain line mode (it imports no Textual), so both end alike.

Textual 8.2 handles none of SIGHUP, SIGTERM or SIGINT itself (its terminal driver only
installs SIGTSTP/SIGCONT handlers for suspending, and turns ISIG off so that the Ctrl+C key
arrives as a key). Left alone, SIGHUP and SIGTERM kill the process with no audit line and
the terminal still in application mode, and a real SIGINT ends as a plain failure. So while
the app runs:

- SIGHUP (the SSH connection dropped), SIGTERM and SIGINT end the run: the audit line is
  written at once (``record_ending``), then the front end ends on its own loop
  (``end_from_signal``): Textual restores the terminal if one remains, and the exit status is
  129, 143 or 130. Never "verified". The Ctrl+C key, which Textual's raw mode makes a key, is
  turned into SIGINT by the terminal driver as it is read, so it ends a run the same way.
- SIGTSTP is ignored. A gate must not be something the user can step around by suspending it:
  a suspended otp-tui leaves a ForceCommand wrapper waiting, and resuming it elsewhere would
  make no sense. (The Ctrl+Z key itself has no binding; this covers ``kill -TSTP`` and
  ``TEXTUAL_ALLOW_SIGNALS``, which makes the keys raise signals again.)
- A terminal that hangs up without a SIGHUP reaching the process ends the run the same way,
  found by a cheap look once a second.
- A watchdog: once a signal has asked the run to end, the process is gone within
  ``EXIT_DEADLINE`` seconds whatever the loop is doing (a terminal nobody reads can stall the
  writes that restore it; a loop kept busy never gets to its callbacks; the loop's shutdown
  waits for a ledger call that hangs). What the program would have said at the end (the
  ``--json`` line, see ``at_forced_exit``) is said first if it has not been.

The ending signals get real handlers (``signal.signal``), not event-loop callbacks: Python runs
those on the main thread at the next bytecode, even while the loop is saturated and never looks
at its signal pipe again (a flood of keys once kept SIGTERM waiting for minutes). The handler
does only what is safe at any point of the program: it arms the watchdog, writes the audit line
through the run (which touches no Textual and no terminal), and asks the loop, thread-safely, to
end the front end. Everything that draws happens on the loop, never in the middle of a Textual
method.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import signal
import threading
from collections.abc import Callable
from typing import Protocol

from otp_tui.result import EXIT_HANGUP, EXIT_INTERRUPTED, EXIT_TERMINATED, Reason, RunResult

log = logging.getLogger(__name__)

# Seconds from the first ending signal to a forced exit: a run ends within a second, with room
# left for the last words (`LAST_WORDS_TIME`) and the exit itself on a loaded machine (at 0.8 s
# a run once took 1.02 s to be gone). An orderly end (audit line, terminal restored, --json
# line) takes about 0.1 s.
EXIT_DEADLINE = 0.7
TERMINAL_WATCH_INTERVAL = 1.0  # seconds between looks at whether the terminal still exists

ENDINGS: dict[signal.Signals, tuple[Reason, int]] = {
    signal.SIGHUP: ("hangup", EXIT_HANGUP),
    signal.SIGTERM: ("terminated", EXIT_TERMINATED),
    signal.SIGINT: ("interrupted", EXIT_INTERRUPTED),
}


# Whether the ending signals have this module's handlers now (the terminal driver then turns
# the Ctrl+C key into SIGINT).
_installed = False


def installed() -> bool:
    return _installed


class SignalTarget(Protocol):
    """What the handlers need of a front end (`OtpApp`, or the plain line mode)."""

    def record_ending(self, reason: Reason) -> RunResult:
        """End the run unverified, write its audit line and say how it ended; no drawing
        (called from the signal handler, at any point of the main thread)."""

    def end_from_signal(self, reason: Reason) -> None:
        """Show the ending and stop (called on the loop)."""

    def call_next(self, callback: Callable[..., object], *args: object) -> None: ...


# What the program says with the run's result if the deadline forces the exit (the `--json`
# line), and the most time it gets: a stdout nobody reads must not hold the exit.
_last_words: Callable[[RunResult], None] | None = None
LAST_WORDS_TIME = 0.1


def at_forced_exit(say: Callable[[RunResult], None] | None) -> None:
    """Have `say` called with the run's result if the exit deadline ends the process before
    the program could say it the ordinary way; None: nothing to say (any more)."""
    global _last_words
    _last_words = say


# What puts the terminal's mode back if the deadline forces the exit (the plain mode turns its
# echo off while it reads): an exit without it would leave the shell typing blind.
_restore_terminal: Callable[[], None] | None = None


def restore_at_forced_exit(restore: Callable[[], None] | None) -> None:
    """Have `restore` called first if the exit deadline ends the process; None: nothing to
    restore (any more). It must not block: use TCSANOW, never TCSADRAIN."""
    global _restore_terminal
    _restore_terminal = restore


class _Watchdog:
    """Forces the exit if an orderly one has not happened in time."""

    def __init__(self, deadline: float) -> None:
        self._deadline = deadline
        self._timer: threading.Timer | None = None
        self.result: RunResult | None = None  # the run's, once the signal has ended it

    @property
    def armed(self) -> bool:
        return self._timer is not None

    def arm(self, status: int) -> None:
        if self._timer is not None:
            return
        # A daemon thread: an orderly exit before the deadline simply ends it.
        timer = threading.Timer(self._deadline, self._force_exit, args=(status,))
        timer.daemon = True
        timer.name = "otp-tui-exit-deadline"
        self._timer = timer
        timer.start()

    def _force_exit(self, status: int) -> None:
        restore = _restore_terminal
        if restore is not None:
            with contextlib.suppress(Exception):  # the exit is what matters now
                restore()
        say, result = _last_words, self.result
        if say is not None and result is not None:
            speaker = threading.Thread(target=say, args=(result,), daemon=True)
            speaker.start()
            speaker.join(LAST_WORDS_TIME)
        os._exit(status)


def install_signal_handlers(
    app: SignalTarget,
    loop: asyncio.AbstractEventLoop | None = None,
    *,
    deadline: float = EXIT_DEADLINE,
    watch_interval: float = TERMINAL_WATCH_INTERVAL,
) -> Callable[[], None]:
    """End the run on an ending signal (see above), ignore SIGTSTP, watch the terminal.

    Call from the main thread. Returns a function that puts the previous handlers back.
    """
    loop = loop if loop is not None else asyncio.get_running_loop()
    watchdog = _Watchdog(deadline)
    failures: list[Exception] = []

    def end_on_loop(reason: Reason) -> None:
        try:
            if failures:
                raise failures.pop()
            app.end_from_signal(reason)
        except Exception as error:
            # Hand the failure to the app's own error path (a failed audit write is exit
            # status 2 there), rather than losing it in asyncio's callback logger.
            app.call_next(_reraise, error)

    def on_ending(reason: Reason, status: int) -> None:
        if watchdog.armed:  # already ending: the first signal's reason and status stand
            return
        watchdog.arm(status)
        _detach_dead_terminal()
        try:
            watchdog.result = app.record_ending(reason)
        except Exception as error:  # never raised into whatever the main thread was doing
            failures.append(error)
        with contextlib.suppress(RuntimeError):  # the loop has closed: the watchdog ends it
            loop.call_soon_threadsafe(end_on_loop, reason)

    def on_signal(signum: int, _frame: object) -> None:
        reason, status = ENDINGS[signal.Signals(signum)]
        on_ending(reason, status)

    global _installed
    previous = {signum: signal.signal(signum, on_signal) for signum in ENDINGS}
    _installed = True
    loop.add_signal_handler(signal.SIGTSTP, _refuse_suspend)

    watch: asyncio.TimerHandle | None = None

    def watch_terminal() -> None:
        # A terminal can die without a SIGHUP reaching us (we are not in its session, or a
        # wrapper ignored the signal and survived). Textual's input thread then spins on the
        # end-of-file it keeps reading, at full CPU, for ever. Look once in a while.
        nonlocal watch
        if any(hung_up(fd) for fd in (0, 2)):
            on_ending("hangup", EXIT_HANGUP)
        else:
            watch = loop.call_later(watch_interval, watch_terminal)

    watch = loop.call_later(watch_interval, watch_terminal)

    def remove() -> None:
        global _installed
        _installed = False
        if watch is not None:
            watch.cancel()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        loop.remove_signal_handler(signal.SIGTSTP)

    return remove


def hung_up(fd: int) -> bool:
    """True if `fd` is a terminal that has hung up.

    A zero-length write is the probe: it fails with EIO only on a hung-up terminal, and
    succeeds on a live one, a pipe or a file (EBADF for a read-only descriptor is not EIO).
    """
    try:
        os.write(fd, b"")
    except OSError as error:
        return error.errno == errno.EIO
    return False


def _detach_dead_terminal() -> None:
    """Point stdout and stderr at /dev/null if they are a terminal that has hung up.

    Writes to a hung-up terminal fail with EIO: Textual's last writes (restoring a terminal
    that no longer exists), the ``--json`` line and the interpreter's final flush would turn
    the exit status into 1 or 120 and print tracebacks to nowhere. Nobody can read them, so
    they may as well succeed.
    """
    devnull: int | None = None
    for fd in (1, 2):
        if hung_up(fd):
            if devnull is None:
                devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, fd)
    if devnull is not None:
        os.close(devnull)


def _reraise(error: Exception) -> None:
    raise error


def _refuse_suspend() -> None:
    log.debug("SIGTSTP ignored: otp-tui cannot be suspended")
