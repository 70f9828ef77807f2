"""The end of the run: verified, locked, or not verified, and how to leave."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Static

from otp_tui.flow import wording
from otp_tui.flow.views import Finished, Presentation
from otp_tui.language import N_
from otp_tui.tui.messages import LeaveAsked
from otp_tui.tui.screens.base import OtpScreen

# Seconds after the result appears in which Enter and q do nothing: the code went the moment
# its last digit was typed, and the Enter most people press next must not close "Verified"
# before it was seen.
GRACE = 1.0


class ResultScreen(OtpScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "leave", N_("Quit"), tooltip=N_("Leave otp-tui")),
        Binding("q", "leave", N_("Quit"), show=False),
        # The run is over: ctrl+q leaves with this result at once, and the key bar names one
        # Quit key.
        Binding("ctrl+q", "leave_now", N_("Quit"), show=False),
    ]

    def __init__(self, presentation: Presentation, ending: Finished) -> None:
        super().__init__(presentation)
        self.ending = ending
        self._shown_at = presentation.clock()

    def compose_body(self) -> ComposeResult:
        style = "success" if self.ending.verified else "failure"
        ending = self.ending
        yield Static(wording.headline(ending.notice), id="headline", classes=f"title {style}")
        yield Static(wording.ending_detail(ending.notice, ending.address), id="detail")
        yield Static(wording.press_enter_to_quit(), classes="hint")

    def action_leave(self) -> None:
        if self.presentation.clock() - self._shown_at >= GRACE:
            self.post_message(LeaveAsked())

    def action_leave_now(self) -> None:
        self.post_message(LeaveAsked())
