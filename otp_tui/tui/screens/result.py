"""The end of the run: verified, locked, or not verified, and how to leave."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Static

from otp_tui.core.outcomes import Failed, Locked, NotAllowed, TooManySends, Verified
from otp_tui.result import RunResult
from otp_tui.tui.screens.base import OtpScreen
from otp_tui.tui.text import until
from otp_tui.tui.wording import refusal_text

Ending = Verified | Locked | Failed | NotAllowed | TooManySends


class ResultScreen(OtpScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "app.quit_with_result", "Quit", tooltip="Leave otp-tui"),
        Binding("q", "app.quit_with_result", "Quit", show=False),
        # The run is over: ctrl+q leaves with this result, and the footer names one Quit key.
        Binding("ctrl+q", "app.quit_with_result", "Quit", show=False),
    ]

    def __init__(self, result: RunResult, ending: Ending) -> None:
        super().__init__()
        self.result = result
        self.ending = ending

    def compose_body(self) -> ComposeResult:
        headline, detail, style = self._wording()
        yield Static(headline, id="headline", classes=f"title {style}")
        yield Static(detail, id="detail")
        yield Static("Press Enter to quit.", classes="hint")

    def _wording(self) -> tuple[str, str, str]:
        shown = self.otp.show_address(self.result.email) if self.result.email else "the address"
        ending = self.ending
        if isinstance(ending, Verified):
            return "Verified", f"{shown} is confirmed: you control this address.", "success"
        if isinstance(ending, Locked):
            when = until(ending.seconds, self.otp.wall_clock())
            return (
                "Locked",
                f"Too many wrong codes. {shown} is locked {when}.",
                "failure",
            )
        if isinstance(ending, Failed) and ending.reason == "expired":
            return (
                "Not verified",
                "The code expired and no more codes can be sent.",
                "failure",
            )
        if isinstance(ending, NotAllowed | TooManySends):
            return "Not verified", refusal_text(ending, self.otp.wall_clock()), "failure"
        return "Not verified", "The verification was stopped.", "failure"
