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
# Seconds a verified login shows "Verified" before going on to the session by itself: the person
# is not quitting, and a key asked for at every login is a key too many.
GOES_ON_AFTER = 1.0
# Seconds between looks at the run's clock while a verified login waits to go on.
_LOOK_EVERY = 0.1


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
        self._goes_on = presentation.login and ending.verified
        self._left = False

    def compose_body(self) -> ComposeResult:
        style = "success" if self.ending.verified else "failure"
        ending = self.ending
        yield Static(wording.headline(ending.notice), id="headline", classes=f"title {style}")
        yield Static(wording.ending_detail(ending.notice, ending.address), id="detail")
        if self._goes_on:
            yield Static(wording.going_on_to_the_session(), classes="hint")
        else:
            yield Static(wording.press_enter_to_quit(), classes="hint")

    def on_mount(self) -> None:
        if self._goes_on:
            # Read off the run's clock, as the grace is, so the wait is the run's, not a timer's.
            self.set_interval(_LOOK_EVERY, self._go_on_once_seen)

    def _go_on_once_seen(self) -> None:
        if self.presentation.clock() - self._shown_at >= GOES_ON_AFTER:
            self.action_leave_now()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # A login that goes on by itself offers no Enter to quit: nothing is quit.
        return not (action == "leave" and self._goes_on)

    def action_leave(self) -> None:
        if self.presentation.clock() - self._shown_at >= GRACE:
            self.action_leave_now()

    def action_leave_now(self) -> None:
        if not self._left:  # once: the interval and a key may both ask
            self._left = True
            self.post_message(LeaveAsked())
