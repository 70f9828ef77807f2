"""Demo mode only: the newest message in the loopback outbox, as the user's mailbox would show it.

This is the one place a code may appear on screen, and it exists only in demo mode, where the
mail never leaves the machine.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from otp_tui.tui.widgets.key_bar import KeyBar


class OutboxScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss", "Close", tooltip="Back to where you were"),
        Binding("ctrl+o", "dismiss", "Close", show=False),
    ]

    def __init__(self, directory: Path | None) -> None:
        super().__init__()
        self.directory = directory

    def compose(self) -> ComposeResult:
        from otp_tui.mail.outbox import newest_message, plain_text_body

        message = newest_message(self.directory)
        with Vertical(id="outbox"):
            yield Static("Demo outbox: the newest message", classes="title")
            if message is None:
                yield Static("The outbox is empty: no code has been sent yet.", id="mail")
            else:
                heading = f"To: {message['To']}\nSubject: {message['Subject']}\n"
                with VerticalScroll(id="mail-scroll"):
                    yield Static(heading + "\n" + plain_text_body(message), id="mail")
        yield KeyBar()

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
