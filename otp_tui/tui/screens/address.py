"""The first screen: which address to verify."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Input, Static

from otp_tui.tui.screens.base import OtpScreen

if TYPE_CHECKING:
    from otp_tui.tui.wording import Refusal


class AddressScreen(OtpScreen):
    # Focused as the screen is composed, before the keys the app held while it started are
    # delivered (OtpApp.release_early_keys).
    AUTO_FOCUS = "#address"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "escape", "Quit", show=False),
        Binding("enter", "send", "Send code", tooltip="Email a one-time code to this address"),
        # Enter typed ahead, before the terminal leaves line mode, arrives as a newline (ctrl+j).
        Binding("ctrl+j", "send", "Send code", show=False),
    ]

    def compose_body(self) -> ComposeResult:
        length = self.otp.settings.policy.code_length
        yield Static("Verify your email address", classes="title")
        yield Static(f"We will email you a {length}-digit code.", classes="hint")
        yield Input(placeholder="you@example.com", id="address")
        yield Static("", id="address-error", classes="error")

    def on_mount(self) -> None:
        super().on_mount()
        entry = self.query_one("#address", Input)
        if self.otp.locked_email:
            entry.value = self.otp.show_address(self.otp.locked_email)
            entry.disabled = True
            # Nothing to type: the body takes focus, so the arrow keys scroll a small terminal.
            self.set_focus(self.query_one("#body"))
            # --email goes straight to sending.
            self.call_after_refresh(self.action_send)
        self.otp.release_early_keys()

    def on_screen_resume(self) -> None:
        # Back from sending or the code: say what Enter does now.
        if self.otp.locked_email:
            self._show("Press Enter to send a new code, or Escape to quit.", error=False)
        else:
            self._show("", error=True)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_send()

    def action_escape(self) -> None:
        if self.otp.sending:  # a send that has not reached its screen yet: cancel it
            self.otp.go_back()
            self._show("", error=True)
        else:
            self.otp.action_give_up()

    def show_sending(self) -> None:
        self._show("Sending…", error=False)

    def action_send(self) -> None:
        if self.otp.sending:
            return
        raw = self.otp.locked_email or self.query_one("#address", Input).value
        from otp_tui.core.outcomes import SendCode

        answer = self.otp.submit_address(raw)
        if not isinstance(answer, SendCode):  # a send shows its own progress
            self.show_refusal(answer)

    def show_refusal(self, answer: Refusal) -> None:
        from otp_tui.tui.wording import refusal_text

        self._show(refusal_text(answer, self.otp.wall_clock()), error=True)

    def _show(self, text: str, *, error: bool) -> None:
        label = self.query_one("#address-error", Static)
        label.update(text)
        label.set_class(not error, "hint")
