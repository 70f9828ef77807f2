"""F1 or ?: the keys of the screen it was opened from, the limits in plain words, and demo mode."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static

from otp_tui.flow import wording
from otp_tui.flow.views import Presentation
from otp_tui.language import N_
from otp_tui.tui.screens.popup import Popup
from otp_tui.tui.widgets.key_bar import KeyBar


class HelpScreen(Popup):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1", "dismiss", N_("Close"), show=False),
        Binding("question_mark", "dismiss", N_("Close"), show=False),
    ]

    def __init__(self, presentation: Presentation, keys: list[tuple[str, str]]) -> None:
        """`keys`: (key, what it does) for each key of the screen below."""
        super().__init__()
        self.presentation = presentation
        self.keys = keys

    def compose(self) -> ComposeResult:
        width = max((len(key) for key, _ in self.keys), default=0)
        lines = [f"{key:<{width}}  {does}" for key, does in self.keys]
        with Vertical(id="help"):
            yield Static(wording.help_title(), classes="title")
            with VerticalScroll(id="help-scroll"):
                yield Static("\n".join(lines), id="help-keys")
                yield Static("\n".join(self.presentation.limits), id="help-limits")
                if self.presentation.demo:
                    yield Static(wording.demo_help(), id="help-demo")
        yield KeyBar()
