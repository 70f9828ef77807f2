"""What every screen shares: the title, the demo banner and the key bar around a body."""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import Screen

from otp_tui.flow.views import Presentation
from otp_tui.tui.widgets.banner import DemoBanner
from otp_tui.tui.widgets.key_bar import KeyBar
from otp_tui.tui.widgets.title_bar import TitleBar

SHORT_BELOW = 20  # rows
TITLE = "otp-tui"


class OtpScreen(Screen[None]):
    def __init__(self, presentation: Presentation) -> None:
        super().__init__()
        self.presentation = presentation

    def compose(self) -> ComposeResult:
        self._fit(self.app.size.height)
        yield TitleBar(f"{TITLE} — demo mode" if self.presentation.demo else TITLE)
        if self.presentation.demo:
            yield DemoBanner()
        with VerticalScroll(id="body"):
            yield from self.compose_body()
        yield KeyBar()

    def compose_body(self) -> ComposeResult:  # pragma: no cover - every screen overrides it
        yield from ()

    def on_resize(self, event: events.Resize) -> None:
        self._fit(event.size.height)

    def _fit(self, height: int) -> None:
        # Under 20 rows (e.g. 60x15) the stylesheet drops the blank lines between the parts.
        # Set in compose, before the first layout, so a small terminal never gets a first frame
        # laid out for a tall one.
        self.set_class(height < SHORT_BELOW, "-short")

    def show_busy(self) -> None:
        """A send has started from this screen; say so until the next screen arrives."""


def update_if_changed(widget: object, text: str) -> None:
    """Update a Static only when its text changes: an unchanged line costs the terminal
    nothing (over a slow link every repaint is bytes)."""
    from textual.widgets import Static

    assert isinstance(widget, Static)
    if str(widget.content) != text:
        widget.update(text)
