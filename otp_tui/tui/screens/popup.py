"""What the two popups (help, the demo outbox) share: closing, quitting, and fitting small
terminals."""

from __future__ import annotations

from typing import ClassVar

from textual import events
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen

from otp_tui.language import N_
from otp_tui.tui.screens.base import SHORT_BELOW


class Popup(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", N_("Close"), tooltip=N_("Back to where you were")),
        # A modal screen hides the app's keys: quitting works here as on every screen, and q
        # too, since nothing is typed in a popup.
        Binding(
            "ctrl+q", "app.quit_run", N_("Quit"), tooltip=N_("Stop without verifying"), id="quit"
        ),
        Binding("q", "app.quit_run", N_("Quit"), show=False),
    ]

    def on_mount(self) -> None:
        self._fit(self.app.size.height)

    def on_resize(self, event: events.Resize) -> None:
        self._fit(event.size.height)

    def _fit(self, height: int) -> None:
        # As the screens do: on a short terminal the popup takes the whole screen, borderless.
        self.set_class(height < SHORT_BELOW, "-short")

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
