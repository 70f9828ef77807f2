"""While the code is on its way: what is happening, how long it has taken, and a way out."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import Button, Static

from otp_tui.flow import wording
from otp_tui.flow.views import Elapsed, Presentation, Sending, SendProblem
from otp_tui.language import N_, _
from otp_tui.tui.messages import BackAsked, RetryAsked
from otp_tui.tui.screens.base import OtpScreen, update_if_changed
from otp_tui.tui.widgets.progress_dots import ProgressDots


class SendingScreen(OtpScreen):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", N_("Back"), tooltip=N_("Cancel and change the address")),
        Binding("r", "retry", N_("Retry"), tooltip=N_("Try sending again")),
        Binding("q", "app.quit_run", N_("Quit"), show=False),  # nothing is typed here
    ]

    def __init__(self, presentation: Presentation, view: Sending | SendProblem) -> None:
        super().__init__(presentation)
        self.view = view

    def compose_body(self) -> ComposeResult:
        yield Static("", id="sending-to", classes="title")
        yield Static("", id="try-note", classes="hint")
        yield ProgressDots(id="spinner")
        yield Static("", id="elapsed", classes="hint")
        if self.presentation.certificates_unchecked:
            yield Static(wording.certificates_unchecked(), classes="warning")
        yield Static("", id="failure", classes="error")
        with Horizontal(id="failure-buttons"):
            yield Button(_("Retry"), id="retry", variant="primary")
            yield Button(_("Back"), id="back")

    def on_mount(self) -> None:
        self._render_view()

    def show(self, view: Sending | SendProblem) -> None:
        self.view = view
        if self.is_mounted:  # else it is still composing, and shows `view` once mounted
            self._render_view()

    def _render_view(self) -> None:
        view = self.view
        problem = view if isinstance(view, SendProblem) else None
        self.query_one("#sending-to", Static).update(
            wording.could_not_send(view.address, view.via)
            if problem
            else wording.sending_to(view.address, view.via)
        )
        self.query_one("#spinner").display = problem is None
        self.query_one("#elapsed").display = problem is None
        self.query_one("#failure", Static).update(wording.notice(problem.notice) if problem else "")
        note = self.query_one("#try-note", Static)
        text = wording.try_note(view)
        note.update(text)
        note.display = bool(text)
        self.query_one("#failure-buttons").display = problem is not None
        retry = self.query_one("#retry", Button)
        retry.display = problem is not None and problem.retryable
        if problem is not None:
            (retry if retry.display else self.query_one("#back", Button)).focus()
        elif isinstance(view, Sending):
            self.show_elapsed(Elapsed(0.0, view.timeout))
        self.refresh_bindings()

    def show_elapsed(self, elapsed: Elapsed) -> None:
        if isinstance(self.view, Sending):
            text = wording.elapsed(elapsed.seconds, elapsed.timeout)
            update_if_changed(self.query_one("#elapsed", Static), text)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "retry":
            return isinstance(self.view, SendProblem) and self.view.retryable
        return True

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "retry":
            self.action_retry()
        else:
            self.action_back()

    def action_back(self) -> None:
        self.post_message(BackAsked())

    def action_retry(self) -> None:
        if isinstance(self.view, SendProblem) and self.view.retryable:
            self.post_message(RetryAsked())
