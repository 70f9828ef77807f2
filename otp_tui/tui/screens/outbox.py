"""Demo mode only: the newest message in the loopback outbox, as the user's mailbox would show it.

This is the one place a code may appear on screen, and it exists only in demo mode, where the
mail never leaves the machine. What it shows arrives as text, drawn as plain text: nothing in a
mail is read as markup or reaches the terminal as a control character.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Static

from otp_tui.core.untrusted import visible
from otp_tui.flow import wording
from otp_tui.language import N_
from otp_tui.tui.screens.popup import Popup
from otp_tui.tui.widgets.key_bar import KeyBar


class OutboxScreen(Popup):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+o", "dismiss", N_("Close"), show=False),
    ]

    def __init__(self, mail: str | None) -> None:
        super().__init__()
        self.mail = mail

    def compose(self) -> ComposeResult:
        with Vertical(id="outbox"):
            yield Static(wording.outbox_title(), classes="title")
            if self.mail is None:
                yield Static(wording.outbox_empty(), id="mail")
            else:
                with VerticalScroll(id="mail-scroll"):
                    # Content, not a string: a string would be parsed as Textual markup.
                    yield Static(Content(visible(self.mail, keep_newlines=True)), id="mail")
        yield KeyBar()
