"""Where the code is typed: the entry, the countdown, the resend and what went wrong."""

from __future__ import annotations

from dataclasses import replace
from time import monotonic
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Button, Input, Static

from otp_tui.flow import wording
from otp_tui.flow.views import NOTHING, AskCode, Countdown, Presentation
from otp_tui.language import N_
from otp_tui.tui.messages import BackAsked, CodeEntered, ResendAsked
from otp_tui.tui.screens.base import OtpScreen, update_if_changed
from otp_tui.tui.widgets.code_entry import CodeEntry


class CodeScreen(OtpScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+r", "resend", N_("Resend"), tooltip=N_("Email a new code"), id="resend"),
        Binding("escape", "back", N_("Change address"), tooltip=N_("Back to the address")),
        # Before the entry, which would swallow it: "?" is never part of a code.
        Binding("question_mark", "app.help", N_("Help"), show=False, priority=True),
    ]
    AUTO_FOCUS = "#code"  # a code pasted the moment the screen appears must reach the entry

    def __init__(self, presentation: Presentation, view: AskCode) -> None:
        super().__init__(presentation)
        self.view = view
        self._resend_possible: bool | None = None
        self._notice_shown_at = 0.0  # when the notice went up, on Textual's event clock

    def compose_body(self) -> ComposeResult:
        length = self.presentation.code_length
        yield Static(wording.code_title(), classes="title")
        yield Static(wording.code_hint(length, self.view.address), classes="hint")
        if self.presentation.sender is not None:
            # No markup: the sender's name is the operator's text, shown as written.
            sender = wording.code_sender_hint(self.presentation.sender)
            yield Static(sender, id="sender", classes="hint", markup=False)
        yield CodeEntry(length, id="code")
        yield Static("", id="feedback", classes="error")
        yield Static("", id="countdown")
        yield Button(wording.resend_button(), id="resend-button")

    def on_mount(self) -> None:
        self._render_view()

    def show(self, view: AskCode) -> None:
        """The answer to what was typed (or a refused resend), and the clocks as they are."""
        self.view = view
        if self.is_mounted:  # else it is still composing, and shows `view` once mounted
            self._render_view()

    def _render_view(self) -> None:
        view = self.view
        entry = self.query_one(CodeEntry)
        entry.disabled = False
        if view.clear_entry:
            entry.clear_entry()
        self._show_notice()
        self.show_countdown(view.countdown)

    def _show_notice(self) -> None:
        notice = self.view.notice
        feedback = self.query_one("#feedback", Static)
        # An expired code is said once, by the countdown line, not twice.
        expired = notice.kind == "expired"
        feedback.update("" if expired else wording.notice(notice, on_code=True))
        self._notice_shown_at = monotonic()
        feedback.set_class(not notice.is_error, "hint")

    def show_countdown(self, countdown: Countdown) -> None:
        if self.view.notice.kind == "cooldown":  # the refused resend's wait, counted down live
            text = wording.cooldown_new_code(countdown.resend_in)
            update_if_changed(self.query_one("#feedback", Static), text)
        line = self.query_one("#countdown", Static)
        if countdown.expires_in > 0:
            update_if_changed(line, wording.expires_in(countdown.expires_in))
            line.set_class(False, "error")
        else:
            update_if_changed(line, wording.countdown_expired())
            line.set_class(True, "error")
        button = self.query_one("#resend-button", Button)
        label = wording.resend_label(countdown)
        if str(button.label) != label:
            button.label = label
        possible = countdown.resend_possible
        button.disabled = not possible
        if possible != self._resend_possible:
            self._resend_possible = possible
            self.refresh_bindings()  # the key bar dims ctrl+r while no resend is possible

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "resend":
            return True if self._resend_possible else None  # None: shown, dimmed
        if action == "back":
            # A fixed address (--email, the gate) has no other address to change to.
            return self.presentation.fixed_address is None
        return True

    def show_busy(self) -> None:
        self.query_one("#feedback", Static).update(wording.sending_new_code())
        self.query_one(CodeEntry).disabled = True

    def on_code_entry_completed(self, event: CodeEntry.Completed) -> None:
        event.stop()
        self.post_message(CodeEntered(event.digits))

    def on_code_entry_paste_refused(self, event: CodeEntry.PasteRefused) -> None:
        event.stop()
        feedback = self.query_one("#feedback", Static)
        feedback.update(wording.paste_refused(self.presentation.code_length))
        feedback.set_class(False, "hint")

    def on_code_entry_edited(self, event: CodeEntry.Edited) -> None:
        # A wrong-code message stays until the person types again, and then goes; a key typed
        # before the message appeared (a seventh digit) does not count.
        typed_after = event.pressed_at > self._notice_shown_at
        if typed_after and self.view.notice.kind in ("wrong", "malformed"):
            self.view = replace(self.view, notice=NOTHING)
            self._show_notice()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        entry = self.query_one(CodeEntry)
        # Enter after the last digit (the code went the moment it was complete), or on an empty
        # entry after a wrong code, asks for nothing: the answer on screen stays.
        if not event.value or entry.already_announced:
            return
        self.post_message(CodeEntered(event.value))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_resend()

    def action_resend(self) -> None:
        self.post_message(ResendAsked())

    def action_back(self) -> None:
        self.post_message(BackAsked())
