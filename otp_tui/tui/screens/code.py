"""Where the code is typed: the entry, the countdown, the resend and what went wrong."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Button, Input, Static

from otp_tui.flow import wording
from otp_tui.flow.views import AskCode, Countdown, Presentation
from otp_tui.tui.messages import BackAsked, CodeEntered, ResendAsked
from otp_tui.tui.screens.base import OtpScreen, update_if_changed
from otp_tui.tui.widgets.code_entry import CodeEntry


class CodeScreen(OtpScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+r", "resend", "Resend", tooltip="Email a new code", id="resend"),
        Binding("escape", "back", "Change address", tooltip="Back to the address"),
    ]
    AUTO_FOCUS = "#code"  # a code pasted the moment the screen appears must reach the entry

    def __init__(self, presentation: Presentation, view: AskCode) -> None:
        super().__init__(presentation)
        self.view = view

    def compose_body(self) -> ComposeResult:
        length = self.presentation.code_length
        yield Static("Enter the code", classes="title")
        yield Static(wording.code_hint(length, self.view.address), classes="hint")
        yield CodeEntry(length, id="code")
        yield Static(self.view.notice, id="feedback", classes="error")
        yield Static("", id="countdown")
        yield Button("Resend code", id="resend-button")

    def on_mount(self) -> None:
        self.show_countdown(self.view.countdown)

    def show(self, view: AskCode) -> None:
        """The answer to what was typed (or a refused resend), and the clocks as they are."""
        self.view = view
        self.query_one("#feedback", Static).update(view.notice)
        entry = self.query_one(CodeEntry)
        entry.disabled = False
        if view.clear_entry:
            entry.clear_entry()
        self.show_countdown(view.countdown)

    def show_countdown(self, countdown: Countdown) -> None:
        line = self.query_one("#countdown", Static)
        if countdown.expires_in > 0:
            update_if_changed(line, wording.expires_in(countdown.expires_in))
            line.set_class(False, "error")
        else:
            update_if_changed(line, wording.COUNTDOWN_EXPIRED)
            line.set_class(True, "error")
        button = self.query_one("#resend-button", Button)
        label = wording.resend_label(countdown.resend_in, countdown.resends_left)
        if str(button.label) != label:
            button.label = label
        button.disabled = countdown.resends_left == 0 or countdown.resend_in > 0

    def show_busy(self) -> None:
        self.query_one("#feedback", Static).update(wording.SENDING_NEW_CODE)
        self.query_one(CodeEntry).disabled = True

    def on_code_entry_completed(self, event: CodeEntry.Completed) -> None:
        event.stop()
        self.post_message(CodeEntered(event.digits))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(CodeEntered(event.value))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_resend()

    def action_resend(self) -> None:
        self.post_message(ResendAsked())

    def action_back(self) -> None:
        self.post_message(BackAsked())
