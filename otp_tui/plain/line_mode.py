"""The line-mode front end: it prints each view the run hands back as a few lines, and turns
each line typed into one intention.

Like the TUI it decides no rule and words no sentence: what a line means depends only on the
view shown last (an address, a code, a send problem), and every sentence comes from
`otp_tui.flow.wording`. Every string that reaches the terminal passes through `visible` first.

Everything happens on one asyncio loop: lines arrive from `LineReader`, which also writes every
line of text, so that the line being typed stays whole (`otp_tui.plain.lines`); a send runs as
a task that can be cancelled, a ticker looks at the clocks, and the signal handlers end the run
at once. Whatever ends the run puts `_ENDED` in the inbox, and the main loop stops there.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TextIO

from otp_tui.core.untrusted import visible
from otp_tui.flow import wording
from otp_tui.flow.views import (
    AskAddress,
    AskCode,
    Countdown,
    Elapsed,
    Finished,
    Sending,
    SendProblem,
    View,
)
from otp_tui.plain.lines import LineReader

if TYPE_CHECKING:
    from otp_tui.flow.run import Run
    from otp_tui.result import Reason, RunResult

log = logging.getLogger(__name__)

# Seconds between looks at the clocks (the expiry, the time a send has taken).
TICK = 0.5
# A send that takes a while says so after this many seconds, and again after as many more.
STILL_SENDING_EVERY = 5.0

_ENDED = object()  # in the inbox: the run is over, stop reading


class LineMode:
    def __init__(
        self,
        run: Run,
        out: TextIO,
        *,
        fd: int = 0,
        install_signals: bool = True,
        tick: float = TICK,
    ) -> None:
        self._run = run
        self._install_signals = install_signals
        self._tick = tick
        self._inbox: asyncio.Queue[object] = asyncio.Queue()
        self._fd = fd
        self._reader = LineReader(self._inbox.put_nowait, fd, out, on_error=self._crash)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._view: View | None = None
        self._send_task: asyncio.Task[None] | None = None
        self._next_still_sending = STILL_SENDING_EVERY
        self._expiry_told = False
        self._ended = False
        self.error: str | None = None  # an unexpected failure, one line for stderr

    # -- running ---------------------------------------------------------------------------

    async def main(self) -> None:
        self._loop = asyncio.get_running_loop()
        remove_signals: Callable[[], None] | None = None
        if self._install_signals:  # a real terminal: SIGHUP, SIGTERM, SIGINT end the run
            from otp_tui.terminal.signals import install_signal_handlers

            remove_signals = install_signal_handlers(self)
        self._reader.start()
        ticker = self._loop.create_task(self._tick_forever())
        prepare = self._loop.create_task(self._prepare())
        try:
            if self._run.presentation.demo:
                self._say(wording.plain_demo())
            await self._apply(self._run.start())  # with a fixed address, the send starts now
            if self._view is None:
                self._show(self._run.first_view())
            while True:
                item = await self._inbox.get()
                if item is _ENDED:
                    break
                if item is None:
                    self._end_of_input()
                elif isinstance(item, str):
                    await self._answer(item)
                    self._reader.taken()
        except Exception as error:
            self._crash(error)
        finally:
            ticker.cancel()
            prepare.cancel()
            self._cancel_send()
            self._reader.stop()
            if remove_signals is not None:
                remove_signals()
            await self._run.close()

    async def _prepare(self) -> None:
        # While the person types the address, import the core and the mail stack in a thread,
        # so the first send waits for neither; a failure here shows at the send instead.
        with contextlib.suppress(Exception):
            await asyncio.to_thread(self._run.prepare)

    # -- what the signal handlers need (`otp_tui.terminal.signals.SignalTarget`) ------------------

    def record_ending(self, reason: Reason) -> RunResult:
        """SIGHUP, SIGTERM or SIGINT, from the signal handler: the run ends now, unverified,
        with its audit line; nothing is written to the terminal here."""
        return self._run.quit(reason).result

    def end_from_signal(self, reason: Reason) -> None:
        """SIGHUP, SIGTERM or Ctrl+C: the run ends at once, unverified."""
        self._cancel_send()
        self._show(self._run.quit(reason))

    def call_next(self, callback: Callable[..., object], *args: object) -> None:
        def guarded() -> None:
            try:
                callback(*args)
            except Exception as error:
                self._crash(error)

        assert self._loop is not None
        self._loop.call_soon(guarded)

    # -- a line typed: what it means depends on the view shown last --------------------------

    async def _answer(self, line: str) -> None:
        view = self._view
        word = line.strip().lower()
        if isinstance(view, AskAddress):
            fixed = self._run.presentation.fixed_address is not None
            await self._apply(self._run.submit_address("" if fixed else line.strip()))
        elif isinstance(view, AskCode):
            if word == "":
                self._say_time_left()
                self._ask(wording.plain_code_prompt())
            elif word == "r":
                await self._apply(self._run.resend())
            elif word == "o" and self._run.presentation.demo:
                self._show_outbox()
                self._ask(wording.plain_code_prompt())
            elif _an_address(word) and self._run.presentation.fixed_address is None:
                await self._change_address(line.strip())
            else:
                await self._apply(self._run.submit_code(line))
        elif isinstance(view, SendProblem):
            if word == "r" and view.retryable:
                await self._apply(self._run.retry())
            elif word == "":
                await self._start_over()
            else:
                self._say_after_problem(view)
        elif isinstance(view, Sending):
            self._say_elapsed()

    async def _change_address(self, address: str) -> None:
        # As Escape and a corrected address do in the TUI: the run decides whether it is sent
        # now (a corrected address waits for no cooldown; the same one returns to its code).
        view = await self._run.back()
        if isinstance(view, AskAddress):
            view = await self._run.submit_address(address)
        self._show_or_prompt(view)

    async def _start_over(self) -> None:
        view = await self._run.back()
        if isinstance(view, AskAddress) and self._run.presentation.fixed_address is not None:
            # The address is fixed: starting over means sending to it again, as Enter did.
            view = await self._run.submit_address("")
        self._show_or_prompt(view)

    async def _apply(self, intention: Awaitable[View | None]) -> None:
        self._show_or_prompt(await intention)

    def _show_or_prompt(self, view: View | None) -> None:
        if view is not None:
            self._show(view)
        elif not self._ended and self._prompt_for(self._view):
            self._ask(self._prompt_for(self._view))  # it meant nothing now: ask again

    def _prompt_for(self, view: View | None) -> str:
        if isinstance(view, AskCode):
            return wording.plain_code_prompt()
        if isinstance(view, AskAddress) and self._run.presentation.fixed_address is None:
            return wording.plain_address_prompt()
        if isinstance(view, AskAddress | SendProblem):
            return wording.PLAIN_AGAIN_PROMPT
        return ""  # sending, or finished: nothing to answer

    def _end_of_input(self) -> None:
        from otp_tui.terminal.signals import hung_up

        if hung_up(self._fd) or hung_up(2):
            # The terminal hung up without a SIGHUP reaching us (yet): end as that signal does,
            # through the same handler, so the status, the audit line and the watchdog agree.
            if self._install_signals:
                signal.raise_signal(signal.SIGHUP)
            else:
                self.end_from_signal("hangup")
            return
        self._show(self._run.quit("cancelled"))

    # -- a view: a few lines, then the prompt that fits it -----------------------------------

    def _show(self, view: View) -> None:
        if self._ended:
            return
        previous, self._view = self._view, view
        if isinstance(view, AskAddress):
            self._show_address(view, first=previous is None)
        elif isinstance(view, Sending):
            self._show_sending(view)
        elif isinstance(view, SendProblem):
            self._say(wording.could_not_send(view.address, view.via))
            self._say(wording.plain_notice(view.notice))
            self._say_after_problem(view)
        elif isinstance(view, AskCode):
            self._show_code(view, after_send=isinstance(previous, Sending))
        else:
            self._show_ending(view)

    def _show_address(self, view: AskAddress, *, first: bool) -> None:
        presentation = self._run.presentation
        if first:
            self._say(wording.plain_address_title())
            self._say(wording.address_hint(presentation.code_length))
        if view.notice:
            self._say(wording.plain_notice(view.notice))
        self._ask(self._prompt_for(view))

    def _show_sending(self, view: Sending) -> None:
        self._cancel_send()
        self._next_still_sending = STILL_SENDING_EVERY
        self._say(wording.sending_to(view.address, view.via))
        if self._run.presentation.certificates_unchecked:
            self._say(wording.certificates_unchecked())
        assert self._loop is not None
        self._send_task = self._loop.create_task(self._send())

    async def _send(self) -> None:
        try:
            view = await self._run.send()
        except asyncio.CancelledError:
            raise
        except Exception as error:
            self._crash(error)
            return
        if view is not None:
            self._show(view)

    def _show_code(self, view: AskCode, *, after_send: bool) -> None:
        self._expiry_told = view.countdown.expires_in <= 0
        if after_send:
            presentation = self._run.presentation
            self._say(wording.code_hint(presentation.code_length, view.address))
            if presentation.sender is not None:
                self._say(wording.code_sender_hint(presentation.sender))
            self._say(wording.plain_time_left(view.countdown))
            fixed = presentation.fixed_address is not None
            self._say(wording.plain_code_keys(demo=presentation.demo, fixed_address=fixed))
        if view.notice:
            self._say(wording.plain_notice(view.notice, on_code=True))
        self._ask(wording.plain_code_prompt())

    def _show_ending(self, ending: Finished) -> None:
        self._ended = True
        self._cancel_send()
        # A storage failure is printed once, by the command line, as its error line.
        notice = ending.notice
        detail = "" if ending.error is not None else wording.ending_detail(notice, ending.address)
        self._say(wording.plain_ending(wording.headline(notice), detail))
        self._inbox.put_nowait(_ENDED)

    def _say_after_problem(self, view: SendProblem) -> None:
        fixed = self._run.presentation.fixed_address is not None
        self._say(wording.plain_after_send_problem(retryable=view.retryable, fixed_address=fixed))
        self._ask(wording.PLAIN_AGAIN_PROMPT)

    def _say_time_left(self) -> None:
        tick = self._run.tick()
        if isinstance(tick, Countdown):
            self._say(wording.plain_time_left(tick))
        elif isinstance(tick, Finished):
            self._show(tick)

    def _say_elapsed(self) -> None:
        tick = self._run.tick()
        if isinstance(tick, Elapsed):
            self._say(wording.plain_still_sending(tick.seconds, tick.timeout))

    def _show_outbox(self) -> None:
        # Demo mode only (the caller checks): the one place a code may reach the terminal.
        if not self._run.presentation.demo:
            return
        mail = self._run.newest_mail()
        if mail is None:
            self._say(wording.outbox_empty())
            return
        self._say(wording.plain_outbox_start())
        self._reader.say(visible(mail, keep_newlines=True).rstrip("\n"))
        self._say(wording.plain_outbox_end())

    # -- the clocks ------------------------------------------------------------------------

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(self._tick)
            try:
                self._on_tick()
            except Exception as error:
                self._crash(error)
                return

    def _on_tick(self) -> None:
        tick = self._run.tick()
        if isinstance(tick, Finished):
            self._show(tick)
        elif isinstance(tick, Countdown) and isinstance(self._view, AskCode):
            if tick.expires_in <= 0 and not self._expiry_told:  # said once, when it happens
                self._expiry_told = True
                self._interject(wording.plain_expired())
        elif isinstance(tick, Elapsed) and isinstance(self._view, Sending):
            self._still_sending(tick)

    def _still_sending(self, elapsed: Elapsed) -> None:
        if elapsed.seconds >= self._next_still_sending:
            self._next_still_sending += STILL_SENDING_EVERY
            self._interject(wording.plain_still_sending(elapsed.seconds, elapsed.timeout))

    # -- the terminal ----------------------------------------------------------------------

    def _say(self, text: str) -> None:
        # If nobody pressed Enter (a signal, Ctrl+D), the text starts below the prompt.
        self._reader.say(visible(text))

    def _ask(self, prompt: str) -> None:
        self._reader.ask(visible(prompt))

    def _interject(self, text: str) -> None:
        """A line nobody typed for (the expiry, a slow send): where the prompt was, which is
        then asked again below it with what was half typed, still being edited."""
        self._reader.interject(visible(text))

    # -- endings nobody asked for ----------------------------------------------------------

    def _cancel_send(self) -> None:
        task, self._send_task = self._send_task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()

    def _crash(self, error: Exception) -> None:
        # One line, never a traceback (its local variables could hold a code); never verified.
        log.debug("unexpected error", exc_info=error)
        if self.error is None:
            self.error = wording.unexpected_error(type(error).__name__)
        self._cancel_send()
        self._show(self._run.quit("cancelled"))
        self._inbox.put_nowait(_ENDED)


def _an_address(word: str) -> bool:
    """A line at the code prompt that is one word with an @: an address typed to send there
    instead (a code, or a sentence holding one, has no @ in a single word)."""
    return "@" in word and not any(char.isspace() for char in word)
