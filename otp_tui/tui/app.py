"""The Textual app: it only navigates.

Screens post what the person wants (`otp_tui.tui.messages`); the app hands each intention to the
run (`otp_tui.flow.run.Run`) and turns the view it gets back into a screen, in one place
(`show`). It decides no rule and words no sentence.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, ClassVar

from textual import events
from textual.app import App
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen, Screen
from textual.timer import Timer
from textual.worker import Worker, WorkerFailed

from otp_tui.flow.views import AskAddress, AskCode, Countdown, Elapsed, Finished, Sending, View
from otp_tui.language import N_, _
from otp_tui.result import Reason, RunResult
from otp_tui.terminal.early_keys import EarlyKeys
from otp_tui.tui import messages
from otp_tui.tui.screens.address import AddressScreen

if TYPE_CHECKING:
    from textual.driver import Driver

    from otp_tui.flow.run import Run

log = logging.getLogger(__name__)

# Seconds a send may take before the sending screen is shown (a fast send skips it).
SENDING_SCREEN_DELAY = 0.3
# Seconds between looks at the clocks (countdowns, elapsed time, expiry). What they show
# changes once a second; looking more often only wakes the app (and, before a change could be
# told from a repaint, sent the same line down the wire again).
TICK = 1.0
# TERM values whose terminals (or fonts) cannot be trusted with block elements: the Linux
# console and the DEC VT family.
BASIC_GLYPH_TERMS = frozenset({"linux", "vt100", "vt102", "vt220", "vt320", "ansi"})


class OtpApp(App[RunResult]):
    CSS_PATH = "otp_tui.tcss"
    TITLE = "otp-tui"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit_run", N_("Quit"), tooltip=N_("Stop without verifying"), id="quit"),
        Binding(
            "ctrl+c", "interrupt", N_("Quit"), show=False, priority=True, tooltip=N_("Interrupt")
        ),
        Binding(
            "ctrl+o",
            "show_outbox",
            N_("Read mail"),
            tooltip=N_("Open the demo outbox"),
            id="outbox",
        ),
        Binding("f1", "help", N_("Help"), tooltip=N_("The keys of this screen and the limits")),
        # Not a priority: a question mark is a valid character in an email address, and the
        # address entry keeps it. Where nothing takes it (the code screen refuses it), it helps.
        Binding("question_mark", "help", N_("Help"), show=False),
    ]

    def __init__(self, run: Run, *, driver_class: type[Driver] | None = None) -> None:
        super().__init__(driver_class=driver_class)
        self.run_ = run
        self.error: str | None = None  # printed by the CLI once the terminal is restored
        self._early_keys = EarlyKeys()
        self._send_worker: Worker[None] | None = None
        self._sending_timer: Timer | None = None
        self._pending: Sending | None = None  # the send in flight, until its screen shows
        self._remove_signal_handlers: Callable[[], None] | None = None
        if run.presentation.demo:
            self.sub_title = _("demo mode")
        if os.environ.get("TERM", "") in BASIC_GLYPH_TERMS:
            # Console fonts lack the block elements Textual's borders are drawn with.
            self.add_class("-basic-glyphs")

    # -- lifecycle -------------------------------------------------------------------------

    def get_default_screen(self) -> AddressScreen:
        # The address screen is the bottom of the stack: Textual's blank default screen would be
        # composed, laid out and drawn once before it, on every start.
        return AddressScreen(self.run_.presentation, self.run_.first_view())

    def on_mount(self) -> None:
        if not self.is_headless:  # a real terminal: SIGHUP, SIGTERM, SIGINT end the run
            from otp_tui.terminal.signals import install_signal_handlers

            self._remove_signal_handlers = install_signal_handlers(self)
        self.set_interval(TICK, self.tick)

    def on_ready(self) -> None:
        # The first frame is up: while the user types, import the core and the mail stack and
        # load the TLS trust store in a thread, so the first send waits for none of them.
        self.set_timer(0.25, self._prepare)

    def _prepare(self) -> None:
        self.run_worker(self.run_.prepare, thread=True, exit_on_error=False, group="prepare")

    async def on_event(self, event: events.Event) -> None:
        if self._early_keys.hold(event):
            return
        if isinstance(event, events.Key) and not event.is_printable:
            # The clocks as they are now, before a key that acts (ctrl+r, Escape, Enter): it acts
            # on the state it was pressed in (a resend possible a moment ago is not refused).
            # A character typed into an entry depends on no clock, and its echo stays quick.
            self.tick()
        await super().on_event(event)

    async def on_unmount(self) -> None:
        if self._remove_signal_handlers is not None:
            self._remove_signal_handlers()
        await self.run_.close()

    def _handle_exception(self, error: Exception) -> None:
        # Textual's own handler prints a traceback with local variables: that could put a code
        # on the terminal. Keep one line instead, and never let a crash read as "verified".
        if isinstance(error, WorkerFailed):  # a failure in an intention's worker: say what it was
            error = error.error if isinstance(error.error, Exception) else error
        log.debug("unexpected error", exc_info=error)
        from otp_tui.flow.wording import unexpected_error

        self.error = unexpected_error(type(error).__name__)
        if self._exception is None:  # Pilot re-raises this in tests
            self._exception = error
            self._exception_event.set()
        ending = self.run_.quit("cancelled")
        self.exit(ending.result if not ending.verified else None, return_code=1)

    # -- intentions, from the screens and the keys ------------------------------------------

    async def on_address_screen_ready(self, _: messages.AddressScreenReady) -> None:
        async def deliver(event: events.Event) -> None:
            await super(OtpApp, self).on_event(event)

        await self._early_keys.release(deliver)
        self._do(self.run_.start())  # with a fixed address, the send starts at once

    def on_address_submitted(self, message: messages.AddressSubmitted) -> None:
        if not self._sending:
            self._do(self.run_.submit_address(message.address))

    def on_code_entered(self, message: messages.CodeEntered) -> None:
        if not self._sending:
            self._do(self.run_.submit_code(message.text))

    def on_resend_asked(self, _: messages.ResendAsked) -> None:
        if not self._sending:
            self._do(self.run_.resend())

    def on_retry_asked(self, _: messages.RetryAsked) -> None:
        if not self._sending:
            self._do(self.run_.retry())

    def on_back_asked(self, _: messages.BackAsked) -> None:
        self._cancel_send()
        self._do(self.run_.back())

    def on_leave_asked(self, _: messages.LeaveAsked) -> None:
        if self._sending:  # Escape before the sending screen appeared: cancel the send
            self.on_back_asked(messages.BackAsked())
        else:
            self.action_quit_run()

    def action_quit_run(self) -> None:
        self._cancel_send()
        self.show(self.run_.quit("cancelled"))

    def action_interrupt(self) -> None:
        self.end_from_signal("interrupted")

    def record_ending(self, reason: Reason) -> RunResult:
        """SIGHUP, SIGTERM or SIGINT, from the signal handler: the run ends now, unverified,
        with its audit line; nothing is drawn here (`end_from_signal` follows on the loop)."""
        return self.run_.quit(reason).result

    def end_from_signal(self, reason: Reason) -> None:
        """SIGHUP, SIGTERM or Ctrl+C: the run ends at once, unverified."""
        self._cancel_send()
        self.show(self.run_.quit(reason))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # The outbox key exists only in demo mode: anywhere else no code may reach the screen.
        if action == "show_outbox":
            return self.run_.presentation.demo
        return True

    def action_help(self) -> None:
        from otp_tui.tui.screens.help import HelpScreen
        from otp_tui.tui.widgets.key_bar import KeyBar, key_name

        if isinstance(self.screen, ModalScreen):
            return
        basic = self.has_class("-basic-glyphs")
        keys = [
            (key_name(binding.key, basic_glyphs=basic), _(binding.tooltip or binding.description))
            for binding, _enabled in self.screen.query_one(KeyBar).entries()
            if binding.action != "help"
        ]
        self.push_screen(HelpScreen(self.run_.presentation, keys))

    def action_show_outbox(self) -> None:
        from otp_tui.tui.screens.outbox import OutboxScreen

        if self.run_.presentation.demo and not isinstance(self.screen, OutboxScreen):
            self.push_screen(OutboxScreen(self.run_.newest_mail()))

    # -- navigation: the one place a view becomes a screen ----------------------------------

    def _do(self, intention: Awaitable[View | None]) -> None:
        async def apply() -> None:
            view = await intention
            if view is not None:
                self.show(view)

        self.run_worker(apply(), group="intention")

    def show(self, view: View) -> None:
        from otp_tui.flow.views import SendProblem

        if isinstance(view, Sending):
            self._begin_sending(view)
            return
        self._cancel_sending_timer()
        if isinstance(view, AskAddress):
            self._cancel_send()
            self._close_modal()
            while not isinstance(self.screen, AddressScreen):
                self.pop_screen()
            self.screen.show(view)
        elif isinstance(view, AskCode):
            from otp_tui.tui.screens.code import CodeScreen

            if isinstance(self.screen, CodeScreen):
                self.screen.show(view)
            else:
                self._replace_top(CodeScreen(self.run_.presentation, view))
        elif isinstance(view, SendProblem):
            from otp_tui.tui.screens.sending import SendingScreen

            if isinstance(self.screen, SendingScreen):
                self.screen.show(view)
            else:
                self._replace_top(SendingScreen(self.run_.presentation, view))
        else:
            self._end(view)

    def _end(self, ending: Finished) -> None:
        self._cancel_send()
        if not ending.linger:
            self.exit(ending.result, return_code=ending.exit_status)
            return
        from otp_tui.tui.screens.result import ResultScreen

        self._replace_top(ResultScreen(self.run_.presentation, ending))

    def _replace_top(self, screen: Screen[None]) -> None:
        """Show `screen` above the address screen, which stays at the bottom of the stack."""
        self._close_modal()
        if isinstance(self.screen, AddressScreen):
            self.push_screen(screen)
        else:
            self.switch_screen(screen)

    def _close_modal(self) -> None:
        while isinstance(self.screen, ModalScreen):
            self.pop_screen()

    # -- sending ---------------------------------------------------------------------------

    @property
    def _sending(self) -> bool:
        return self._send_worker is not None and self._send_worker.is_running

    def _begin_sending(self, view: Sending) -> None:
        from otp_tui.tui.screens.base import OtpScreen
        from otp_tui.tui.screens.sending import SendingScreen

        self._pending = view
        if isinstance(self.screen, SendingScreen):
            self.screen.show(view)  # a retry
        else:
            # A send that is done within the delay goes straight to the code screen, with no
            # loading screen flashing past; a slower one gets the sending screen.
            if isinstance(self.screen, OtpScreen):
                self.screen.show_busy()
            self._sending_timer = self.set_timer(SENDING_SCREEN_DELAY, self._show_sending_screen)

        async def send() -> None:
            view = await self.run_.send()
            self._send_worker = None
            if view is not None:
                self.show(view)

        self._send_worker = self.run_worker(send(), group="send", exclusive=True)

    def _show_sending_screen(self) -> None:
        from otp_tui.tui.screens.sending import SendingScreen

        self._sending_timer = None
        if self._pending is not None and self._sending:
            self._replace_top(SendingScreen(self.run_.presentation, self._pending))

    def _cancel_send(self) -> None:
        self._cancel_sending_timer()
        self._pending = None
        if self._send_worker is not None:
            self._send_worker.cancel()
            self._send_worker = None

    def _cancel_sending_timer(self) -> None:
        if self._sending_timer is not None:
            self._sending_timer.stop()
            self._sending_timer = None

    # -- the clocks ------------------------------------------------------------------------

    def tick(self) -> None:
        """Look at the clocks now: countdowns, the time a send has taken, expiry."""
        from otp_tui.tui.screens.code import CodeScreen
        from otp_tui.tui.screens.sending import SendingScreen

        tick = self.run_.tick()
        # The screen under a popup too: it is current the moment the popup goes.
        screen = next(s for s in reversed(self.screen_stack) if not isinstance(s, ModalScreen))
        if isinstance(tick, Finished):
            self.show(tick)
        elif not screen.is_mounted:
            return  # just switched to: it shows the clocks itself once composed
        elif not (screen.is_attached and screen.display):
            # Going away (the app shutting down prunes a screen's widgets first): a tick then
            # would look for widgets already gone.
            return
        elif isinstance(tick, Countdown) and isinstance(screen, CodeScreen | AddressScreen):
            screen.show_countdown(tick)
        elif isinstance(tick, Elapsed) and isinstance(screen, SendingScreen):
            screen.show_elapsed(tick)
