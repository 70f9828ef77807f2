"""While the code is on its way: what is happening, how long it has taken, and a way out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Button, LoadingIndicator, Static

from otp_tui.tui.screens.base import OtpScreen
from otp_tui.tui.wording import Refusal, refusal_text


@dataclass(frozen=True)
class SendFailure:
    """A failed send as the sending screen shows it."""

    message: str
    retryable: bool


class SendingScreen(OtpScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", tooltip="Cancel and change the address"),
        Binding("r", "retry", "Retry", tooltip="Try sending again"),
    ]

    def __init__(self, address: str, failure: SendFailure | None = None) -> None:
        super().__init__()
        self.address = address
        self.failure = failure

    def compose_body(self) -> ComposeResult:
        yield Static("", id="sending-to", classes="title")
        yield LoadingIndicator(id="spinner")
        yield Static("", id="elapsed", classes="hint")
        if not self.otp.demo and not self.otp.settings.smtp.validate_certs:
            yield Static(
                "Certificate checks are off (smtp.validate_certs = false).", classes="warning"
            )
        yield Static("", id="failure", classes="error")
        with Horizontal(id="failure-buttons"):
            yield Button("Retry", id="retry", variant="primary")
            yield Button("Back", id="back")

    def on_mount(self) -> None:
        super().on_mount()
        self._render_state()
        self.set_interval(0.25, self._tick)

    def restart(self, address: str) -> None:
        self.address = address
        self.failure = None
        self._render_state()

    def show_failure(self, failure: SendFailure) -> None:
        self.failure = failure
        self._render_state()

    def show_refusal(self, answer: Refusal) -> None:
        self.query_one("#failure", Static).update(refusal_text(answer, self.otp.wall_clock()))

    def _render_state(self) -> None:
        failed = self.failure is not None
        where = self.otp.server_label
        shown = self.otp.show_address(self.address)
        self.query_one("#sending-to", Static).update(
            f"Could not send the code to {shown} via {where}."
            if failed
            else f"Sending a code to {shown} via {where}…"
        )
        self.query_one("#spinner").display = not failed
        self.query_one("#elapsed").display = not failed
        self.query_one("#failure", Static).update(self.failure.message if self.failure else "")
        self.query_one("#failure-buttons").display = failed
        retry = self.query_one("#retry", Button)
        retry.display = bool(self.failure and self.failure.retryable)
        if failed:
            (retry if retry.display else self.query_one("#back", Button)).focus()
        self._tick()
        self.refresh_bindings()

    def _tick(self) -> None:
        if self.failure is not None:
            return
        elapsed = max(0.0, self.otp.clock() - self.otp.send_started_at)
        limit = self.otp.send_timeout
        self.query_one("#elapsed", Static).update(f"{elapsed:.0f} s of {limit:g} s")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "retry":
            return bool(self.failure and self.failure.retryable)
        return True

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "retry":
            self.action_retry()
        else:
            self.action_back()

    def action_back(self) -> None:
        self.otp.go_back()

    def action_retry(self) -> None:
        if self.failure and self.failure.retryable:
            self.otp.retry_send()
