"""What every screen shares: the title, the demo banner and the key bar around a body."""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from otp_tui.flow import wording
from otp_tui.flow.views import Presentation
from otp_tui.tui.widgets.banner import DemoBanner
from otp_tui.tui.widgets.key_bar import KeyBar
from otp_tui.tui.widgets.title_bar import TitleBar

SHORT_BELOW = 20  # rows
TITLE = "otp-tui"
# The smallest terminal the screens are laid out for; below it one centred line says so.
MIN_COLUMNS = 40
MIN_LINES = 12


class OtpScreen(Screen[None]):
    def __init__(self, presentation: Presentation) -> None:
        super().__init__()
        self.presentation = presentation

    def compose(self) -> ComposeResult:
        self._fit(self.app.size.width, self.app.size.height)
        yield Static(
            self._too_small_text(self.app.size.width, self.app.size.height), id="too-small"
        )
        yield TitleBar(wording.demo_title(TITLE) if self.presentation.demo else TITLE)
        if self.presentation.demo:
            yield DemoBanner()
        # Not focusable: Tab must never move focus somewhere it cannot be seen (a screen with
        # nothing else to focus makes it so itself).
        with VerticalScroll(id="body", can_focus=False):
            yield from self.compose_body()
        yield KeyBar()

    def compose_body(self) -> ComposeResult:  # pragma: no cover - every screen overrides it
        yield from ()

    def on_resize(self, event: events.Resize) -> None:
        self._fit(event.size.width, event.size.height)
        if self.has_class("-too-small"):
            line = self.query_one("#too-small", Static)
            line.update(self._too_small_text(event.size.width, event.size.height))

    def _fit(self, width: int, height: int) -> None:
        # Under 20 rows (e.g. 60x15) the stylesheet drops the blank lines between the parts.
        # Set in compose, before the first layout, so a small terminal never gets a first frame
        # laid out for a tall one.
        self.set_class(height < SHORT_BELOW, "-short")
        self.set_class(width < MIN_COLUMNS or height < MIN_LINES, "-too-small")

    @staticmethod
    def _too_small_text(width: int, height: int) -> str:
        return wording.too_small(MIN_COLUMNS, MIN_LINES, width, height)

    def show_busy(self) -> None:
        """A send has started from this screen; say so until the next screen arrives."""


def update_if_changed(widget: object, text: str) -> None:
    """Update a Static only when its text changes: an unchanged line costs the terminal
    nothing (over a slow link every repaint is bytes)."""
    from textual.widgets import Static

    assert isinstance(widget, Static)
    if str(widget.content) != text:
        widget.update(text)
