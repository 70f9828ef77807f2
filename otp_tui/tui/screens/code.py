"""Where the code is typed: the entry, the countdown, the resend and what went wrong."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Button, Input, Static

from otp_tui.core.machine import Phase, Status
from otp_tui.core.outcomes import (
    CodeSent,
    Expired,
    Malformed,
    SendCode,
    WrongCode,
)
from otp_tui.tui.screens.base import OtpScreen
from otp_tui.tui.text import clock_duration
from otp_tui.tui.widgets.code_entry import CodeEntry
from otp_tui.tui.wording import refusal_text


class CodeScreen(OtpScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+r", "resend", "Resend", tooltip="Email a new code", id="resend"),
        Binding("escape", "back", "Change address", tooltip="Back to the address"),
    ]
    AUTO_FOCUS = "#code"  # a code pasted the moment the screen appears must reach the entry

    def __init__(self, sent: CodeSent) -> None:
        super().__init__()
        self.sent = sent
        self._expired_shown = False

    def compose_body(self) -> ComposeResult:
        length = self.otp.settings.policy.code_length
        shown = self.otp.show_address(self.sent.address)
        yield Static("Enter the code", classes="title")
        yield Static(f"We sent a {length}-digit code to {shown}.", classes="hint")
        yield CodeEntry(length, id="code")
        yield Static("", id="feedback", classes="error")
        yield Static("", id="countdown")
        yield Button("Resend code", id="resend-button")

    def on_mount(self) -> None:
        super().on_mount()
        self.refresh_status()
        self.set_interval(0.5, self.refresh_status)

    def refresh_status(self) -> None:
        status = self.otp.poll()
        if status.phase is not Phase.AWAITING_CODE:
            return
        self._render_countdown(status)
        self._render_resend(status)

    def _render_countdown(self, status: Status) -> None:
        countdown = self.query_one("#countdown", Static)
        if status.expires_in > 0:
            countdown.update(f"Code expires in {clock_duration(status.expires_in)}")
            countdown.set_class(False, "error")
            return
        countdown.update("The code has expired. Press ctrl+r for a new one.")
        countdown.set_class(True, "error")

    def _render_resend(self, status: Status) -> None:
        button = self.query_one("#resend-button", Button)
        if status.resends_left == 0:
            button.label = "No resends left"
            button.disabled = True
        elif status.resend_in > 0:
            button.label = f"Resend in {clock_duration(status.resend_in)}"
            button.disabled = True
        else:
            button.label = f"Resend code ({status.resends_left} left)"
            button.disabled = False

    def on_code_entry_completed(self, event: CodeEntry.Completed) -> None:
        event.stop()
        self._submit(event.digits)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._submit(event.value)

    def show_sending(self) -> None:
        self.query_one("#feedback", Static).update("Sending a new code…")
        self.query_one(CodeEntry).disabled = True

    def _submit(self, text: str) -> None:
        if self.otp.sending:
            return  # a new code is on its way; this screen is about to be replaced
        answer = self.otp.submit_code(text)
        feedback = self.query_one("#feedback", Static)
        entry = self.query_one(CodeEntry)
        if isinstance(answer, WrongCode):
            left = answer.attempts_left
            feedback.update(f"Wrong code: {left} attempt{'s' if left != 1 else ''} left.")
            entry.clear_entry()
        elif isinstance(answer, Malformed):
            feedback.update(f"The code has {answer.expected_length} digits.")
        elif isinstance(answer, Expired):
            feedback.update("That code has expired. Press ctrl+r for a new one.")
            entry.clear_entry()
        if self.is_current:
            self.refresh_status()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_resend()

    def action_resend(self) -> None:
        if self.otp.sending:
            return
        answer = self.otp.request_resend()
        if not isinstance(answer, SendCode):
            self.query_one("#feedback", Static).update(refusal_text(answer, self.otp.wall_clock()))

    def action_back(self) -> None:
        self.otp.go_back()
