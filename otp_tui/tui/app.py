"""The Textual app: owns the verification machine, runs the send worker, routes outcomes.

Data flows one way: keys -> screen -> an event on the machine (through the methods here) ->
an outcome -> the screen that renders it. Screens never apply a rule themselves.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Protocol, TypeVar

from textual import events, work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.timer import Timer
from textual.worker import Worker, WorkerState

from otp_tui.result import EXIT_USAGE, Reason, RunResult
from otp_tui.tui.screens.address import AddressScreen
from otp_tui.tui.text import mask_address

if TYPE_CHECKING:
    from textual.driver import Driver

    from otp_tui.config.schema import Settings, SmtpSettings
    from otp_tui.core.machine import Status, Verification
    from otp_tui.core.outcomes import (
        AddressAnswer,
        CodeAnswer,
        CodeSent,
        Failed,
        Locked,
        NotAllowed,
        ResendAnswer,
        SendCode,
        TooManySends,
        Verified,
    )
    from otp_tui.mail.outbox import DemoOutbox
    from otp_tui.state.audit import AuditEvent
    from otp_tui.tui.screens.sending import SendFailure

    class Auditor(Protocol):
        """Where the app reports what happened; `otp_tui.state.audit.AuditLog` is the real one."""

        def record(self, event: AuditEvent, address: str, **fields: object) -> None: ...


log = logging.getLogger(__name__)

# Seconds a send may take before the sending screen is shown (a fast send skips it).
SENDING_SCREEN_DELAY = 0.3

T = TypeVar("T")
Clock = Callable[[], float]
SendFunction = Callable[["SmtpSettings", EmailMessage], Awaitable[None]]


class StorageFailure(Exception):
    """The ledger or audit trail failed: the run must stop, unverified, with exit status 2."""


class OtpApp(App[RunResult]):
    CSS_PATH = "otp_tui.tcss"
    TITLE = "otp-tui"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "give_up", "Quit", tooltip="Stop without verifying", id="quit"),
        Binding("ctrl+c", "interrupt", "Quit", show=False, priority=True, tooltip="Interrupt"),
        Binding("ctrl+o", "show_outbox", "Read mail", tooltip="Open the demo outbox", id="outbox"),
    ]

    def __init__(
        self,
        settings: Settings,
        machine: Verification | Callable[[], Verification],
        *,
        demo: bool,
        email: str | None = None,
        clock: Clock,
        wall_clock: Clock,
        audit: Auditor | None = None,
        outbox_dir: Path | None = None,
        send: SendFunction | None = None,
        storage_errors: tuple[type[Exception], ...] = (),
        blink: bool = True,
        origin: str | None = None,
        driver_class: type[Driver] | None = None,
    ) -> None:
        super().__init__(driver_class=driver_class)
        self.settings = settings
        # A factory defers building the machine (and importing the core) past the first frame.
        self._machine = machine
        self.demo = demo
        self.locked_email = email
        self.clock = clock
        self.wall_clock = wall_clock
        self._audit = audit
        self.outbox_dir = outbox_dir
        self._send = send
        self._storage_errors = storage_errors
        self._outbox: DemoOutbox | None = None
        self._send_worker: Worker[None] | None = None
        self._sending_timer: Timer | None = None
        self._sending_to = ""
        self.send_started_at = 0.0
        self.error: str | None = None  # printed by the CLI once the terminal is restored
        self.result: RunResult | None = None
        self.blink = blink  # snapshot tests switch the cursor blink off
        self._origin = origin  # where the mail says the code was asked from; None: this host
        # Keys and pastes that arrive before the address entry can take them; None once it can.
        self._early_keys: list[events.Key | events.Paste] | None = []
        if demo:
            self.sub_title = "demo mode"

    @property
    def machine(self) -> Verification:
        if callable(self._machine):
            self._machine = self._machine()
        return self._machine

    # Lifecycle
    def on_mount(self) -> None:
        if not self.is_headless:  # a real terminal: SIGHUP, SIGTERM, SIGINT end the run
            from otp_tui.tui.signals import install_signal_handlers

            install_signal_handlers(self)

    def get_default_screen(self) -> AddressScreen:
        # The address screen is the bottom of the stack: Textual's blank default screen would be
        # composed, laid out and drawn once before it, on every start.
        return AddressScreen()

    async def on_event(self, event: events.Event) -> None:
        # Keys typed ahead (straight after the command, often over SSH) are read as soon as the
        # terminal is in raw mode, before the address screen has composed and focused its entry;
        # Textual would hand them to the bare screen, which drops them. Hold them until then.
        held = self._early_keys
        typing_events = (events.Key, events.Paste)
        if held is not None and isinstance(event, typing_events) and not event.is_forwarded:
            held.append(event)
            return
        await super().on_event(event)

    def release_early_keys(self) -> None:
        """The address screen is ready for keys: deliver the held ones, in order, before any
        key still queued behind them."""

        async def deliver() -> None:
            held, self._early_keys = self._early_keys or [], None
            for key in held:
                await super(OtpApp, self).on_event(key)

        self.call_next(deliver)

    def on_ready(self) -> None:
        # The first frame is up: while the user types, import the mail stack and load the TLS
        # trust store in a thread, so the first send waits for neither. Both stay off the
        # start-up path (tests/bench/bench.py measures the two).
        self.set_timer(0.25, self._start_preparing)

    def _start_preparing(self) -> None:
        self.run_worker(self._prepare_send, thread=True, exit_on_error=False, group="prepare")
        self.call_later(self._warm_up_styles)

    async def _warm_up_styles(self) -> None:
        # Textual parses a widget class's stylesheet the first time one is mounted, and that
        # reparse was a large part of drawing the code screen after a send. Mount one of each
        # kind the later screens use, hidden, while the user is still typing the address.
        from textual.containers import Horizontal
        from textual.widgets import Button, LoadingIndicator

        from otp_tui.tui.widgets.code_entry import CodeEntry

        if not isinstance(self.screen, AddressScreen):
            return
        parts = [Button(""), LoadingIndicator(), CodeEntry(6)]
        for part in parts:
            part.can_focus = False  # never take focus (or scroll the screen) from the address
        kit = Horizontal(*parts)
        kit.display = False
        await self.screen.query_one("#body").mount(kit)
        await kit.remove()

    def _prepare_send(self) -> None:
        import importlib

        # The core, email-validator and the ledger's SQLite too: the first Enter needs them.
        for module in (
            "otp_tui.core.machine",
            "email_validator",
            "otp_tui.state.ledger",
            "otp_tui.mail.message",
        ):
            importlib.import_module(module)
        from otp_tui.mail.sender import prepare

        if not self.demo:
            try:
                prepare(self.settings.smtp)
            except Exception:  # the send itself reports the problem, with its kind
                log.debug("could not prepare the TLS context", exc_info=True)

    async def on_unmount(self) -> None:
        if self._outbox is not None:
            await self._outbox.stop()

    def _handle_exception(self, error: Exception) -> None:
        # Textual's own handler prints a traceback with local variables: that could put a code
        # on the terminal. Keep one line instead, and never let a crash read as "verified".
        if isinstance(error, StorageFailure):
            self.error = str(error)
            status = EXIT_USAGE
        else:
            log.debug("unexpected error", exc_info=error)
            self.error = f"unexpected error ({type(error).__name__}); not verified"
            status = 1
        if self._exception is None:  # Pilot re-raises this in tests
            self._exception = error
            self._exception_event.set()
        self._finish("failed", return_code=status)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # The outbox key exists only in demo mode: anywhere else no code may reach the screen.
        if action == "show_outbox":
            return self.demo
        return True

    def action_show_outbox(self) -> None:
        from otp_tui.tui.screens.outbox import OutboxScreen

        if self.demo and not isinstance(self.screen, OutboxScreen):
            self.push_screen(OutboxScreen(self.outbox_dir))

    @property
    def send_timeout(self) -> float:
        from otp_tui.config.schema import SmtpSettings

        # The demo outbox sends with the default timeout.
        return SmtpSettings().timeout if self.demo else self.settings.smtp.timeout

    # How addresses are shown
    def show_address(self, address: str) -> str:
        """An address given with --email is shown masked everywhere."""
        return mask_address(address) if self.locked_email else address

    @property
    def server_label(self) -> str:
        if self.demo:
            return "the demo outbox"
        # The host alone: the port is an operator's detail (`otp-tui check` shows it).
        return str(self.settings.smtp.host)

    # Events from the screens
    def submit_address(self, raw: str) -> AddressAnswer:
        from otp_tui.core.outcomes import Locked, NotAllowed, SendCode, TooManySends

        answer = self._guarded(lambda: self.machine.submit_address(raw))
        if isinstance(answer, SendCode):
            self._start_send(answer)
        elif self.locked_email and isinstance(answer, Locked | NotAllowed | TooManySends):
            # A gate with a fixed address has nothing else to try: end the run now.
            self._show_result(answer)
        return answer

    def request_resend(self) -> ResendAnswer:
        from otp_tui.core.outcomes import SendCode

        answer = self._guarded(self.machine.request_resend)
        if isinstance(answer, SendCode):
            self._start_send(answer)
        return answer

    def retry_send(self) -> None:
        from otp_tui.core.outcomes import SendCode
        from otp_tui.tui.screens.sending import SendingScreen

        answer = self._guarded(self.machine.retry_send)
        if isinstance(answer, SendCode):
            self._start_send(answer)
        elif isinstance(self.screen, SendingScreen):
            self.screen.show_refusal(answer)  # e.g. the hourly budget ran out meanwhile

    def submit_code(self, text: str) -> CodeAnswer:
        from otp_tui.core.outcomes import Failed, Locked, Verified, WrongCode

        answer = self._guarded(lambda: self.machine.submit_code(text))
        address = self.machine.status().address or ""
        if isinstance(answer, WrongCode):
            self._record("wrong_code", address, attempts_left=answer.attempts_left)
        if isinstance(answer, Verified | Locked | Failed):
            self._show_result(answer)
        return answer

    def go_back(self) -> None:
        """Escape on the sending or code screen: back to the address."""
        if self._send_worker is not None and self._send_worker.is_running:
            self._send_worker.cancel()
        self._send_worker = None
        self._cancel_sending_timer()
        self._guarded(self.machine.go_back)
        while not isinstance(self.screen, AddressScreen):
            self.pop_screen()

    def poll(self) -> Status:
        """The machine's state now; ends the run if time alone has ended it."""
        from otp_tui.core.machine import Phase
        from otp_tui.core.outcomes import Failed

        status = self._guarded(self.machine.status)
        if status.phase is Phase.FAILED and self.result is None:
            self._show_result(Failed(self.machine.fail_reason or "expired"))
        return status

    def action_give_up(self) -> None:
        self._end_unverified("cancelled")

    def action_interrupt(self) -> None:
        self._end_unverified("interrupted")

    def end_from_signal(self, reason: Reason) -> None:
        """SIGHUP or SIGTERM arrived: record it and leave at once, unverified."""
        self._end_unverified(reason)

    def _end_unverified(self, reason: Reason) -> None:
        if self.result is not None:  # on a result screen
            if reason != "cancelled":
                # Interrupted, hung up or terminated before the user left: whatever the screen
                # said, the caller is told the run did not complete (fail closed).
                self.result = replace(self.result, verified=False, reason=reason)
                # The trail must not end on "verified" for a run the caller sees as failed.
                self._record("interrupted", self.result.email, reason=reason)
            self.exit(self.result, return_code=self.result.exit_status)
            return
        if not self.machine.phase.finished:
            self.machine.give_up("cancelled" if reason == "cancelled" else "interrupted")
        if self._send_worker is not None:
            self._send_worker.cancel()
        self._record(
            "cancelled" if reason == "cancelled" else "interrupted",
            self.machine.status().address or "",
            reason=reason,
        )
        self._finish(reason)

    def action_quit_with_result(self) -> None:
        """Enter or q on a result screen."""
        assert self.result is not None
        self.exit(self.result, return_code=self.result.exit_status)

    # Sending
    def _start_send(self, request: SendCode) -> None:
        from otp_tui.tui.screens.base import OtpScreen
        from otp_tui.tui.screens.sending import SendingScreen

        self._record("send_requested", request.address)
        self.send_started_at = self.clock()
        self._sending_to = request.address
        if isinstance(self.screen, SendingScreen):
            self.screen.restart(request.address)
        else:
            # A send that is done within the delay goes straight to the code screen, with no
            # loading screen flashing past; a slower one gets the sending screen.
            if isinstance(self.screen, OtpScreen):
                self.screen.show_sending()
            self._sending_timer = self.set_timer(SENDING_SCREEN_DELAY, self._show_sending_screen)
        self._send_worker = self._deliver(request)

    @property
    def sending(self) -> bool:
        from otp_tui.core.machine import Phase

        return self.machine.phase is Phase.SENDING

    def _cancel_sending_timer(self) -> None:
        if self._sending_timer is not None:
            self._sending_timer.stop()
            self._sending_timer = None

    def _show_sending_screen(self, failure: SendFailure | None = None) -> None:
        from otp_tui.core.machine import Phase
        from otp_tui.tui.screens.sending import SendingScreen

        self._cancel_sending_timer()
        if self.machine.phase not in (Phase.SENDING, Phase.SEND_FAILED):
            return
        screen = SendingScreen(self._sending_to, failure)
        if isinstance(self.screen, AddressScreen):
            self.push_screen(screen)
        else:
            self.switch_screen(screen)

    @work(exclusive=True, exit_on_error=False, group="send")
    async def _deliver(self, request: SendCode) -> None:
        # Imported here, not at the top: the mail stack stays off the start-up path.
        from otp_tui.mail.message import build_message, describe_origin

        send = self._send
        if send is None:
            from otp_tui.mail.sender import send_message

            send = send_message
        smtp = await self._smtp_settings()
        message = build_message(
            self.settings.sender,
            request.address,
            request.code,
            ttl_seconds=int(request.ttl),
            requested_from=self._origin or describe_origin(),
        )
        await send(smtp, message)

    async def _smtp_settings(self) -> SmtpSettings:
        if not self.demo:
            return self.settings.smtp
        if self._outbox is None:
            from otp_tui.mail.outbox import DemoOutbox

            outbox = DemoOutbox(self.outbox_dir)
            await outbox.start()
            self._outbox = outbox
        return self._outbox.smtp

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # One place turns a send's end into a machine event; a worker that was cancelled or
        # replaced (Escape, a newer send) is ignored.
        if event.worker is not self._send_worker or not self.sending:
            return
        if event.state is WorkerState.SUCCESS:
            self._send_worker = None
            sent = self._guarded(self.machine.send_succeeded)
            self._record("sent", sent.address)
            self._show_code_screen(sent)
        elif event.state is WorkerState.ERROR:
            self._send_worker = None
            self._send_failed(event.worker.error)

    def _send_failed(self, error: BaseException | None) -> None:
        from otp_tui.mail.errors import SendError
        from otp_tui.tui.screens.sending import SendFailure, SendingScreen

        if isinstance(error, SendError):
            kind, retryable, message = error.kind.value, error.retryable, str(error)
            log.debug("send failed: %s: %s", kind, error.detail)
        else:
            # Not an SMTP failure we know: say so plainly and offer no retry.
            log.debug("send crashed", exc_info=error)
            kind, retryable = "error", False
            message = (
                f"The code could not be sent because of an unexpected error "
                f"({type(error).__name__})."
            )
        answer = self._guarded(lambda: self.machine.send_failed(kind, retryable))
        self._record("send_failed", self.machine.status().address or "", kind=kind)
        failure = SendFailure(message, answer.retryable)
        if isinstance(self.screen, SendingScreen):
            self.screen.show_failure(failure)
        else:
            self._show_sending_screen(failure)

    def _show_code_screen(self, sent: CodeSent) -> None:
        from otp_tui.tui.screens.code import CodeScreen

        self._cancel_sending_timer()
        if isinstance(self.screen, AddressScreen):
            self.push_screen(CodeScreen(sent))
        else:
            self.switch_screen(CodeScreen(sent))

    # The end
    def _show_result(self, answer: Verified | Locked | Failed | NotAllowed | TooManySends) -> None:
        from otp_tui.core.outcomes import Failed, Locked, Verified
        from otp_tui.tui.screens.result import ResultScreen

        address = self.machine.status().address or (self.locked_email or "")
        if isinstance(answer, Verified):
            reason: Reason = "verified"
            self._record("verified", answer.address)
        elif isinstance(answer, Locked):
            reason = "locked"
            self._record("locked", address, seconds=answer.seconds)
        elif isinstance(answer, Failed):
            reason = "expired" if answer.reason == "expired" else "cancelled"
        else:
            reason = "failed"
        if not self.machine.phase.finished:
            self.machine.give_up("cancelled")
        self.result = self._result(reason)
        if isinstance(self.screen, AddressScreen):
            self.push_screen(ResultScreen(self.result, answer))
        else:
            self.switch_screen(ResultScreen(self.result, answer))

    def _result(self, reason: Reason) -> RunResult:
        from otp_tui.core.machine import Phase

        status = self.machine.status()
        return RunResult(
            verified=reason == "verified" and status.phase is Phase.VERIFIED,
            email=status.address or self.locked_email or "",
            reason=reason if reason != "verified" or status.phase is Phase.VERIFIED else "failed",
            sends=status.sends,
            wrong_attempts=status.wrong_attempts,
        )

    def _finish(self, reason: Reason, return_code: int | None = None) -> None:
        if self.result is None or reason != self.result.reason:
            self.result = self._result(reason) if reason != "verified" else self.result
        assert self.result is not None
        self.exit(
            self.result,
            return_code=self.result.exit_status if return_code is None else return_code,
        )

    # Storage
    def _guarded(self, event: Callable[[], T]) -> T:
        """Run a machine event; a failing ledger stops the run (fail closed, exit status 2)."""
        try:
            return event()
        except self._storage_errors as error:
            raise StorageFailure(str(error)) from error

    def _record(self, event: AuditEvent, address: str, **fields: object) -> None:
        if self._audit is None:
            return
        try:
            self._audit.record(event, address, **fields)
        except self._storage_errors as error:
            raise StorageFailure(str(error)) from error
