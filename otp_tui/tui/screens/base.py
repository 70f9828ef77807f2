"""What every screen shares: the header, the demo banner and the footer around a body."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from textual import events
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import Screen

from otp_tui.tui.widgets.banner import DemoBanner
from otp_tui.tui.widgets.key_bar import KeyBar
from otp_tui.tui.widgets.title_bar import TitleBar

if TYPE_CHECKING:
    from otp_tui.tui.app import OtpApp

SHORT_BELOW = 20  # rows


class OtpScreen(Screen[None]):
    @property
    def otp(self) -> OtpApp:
        return cast("OtpApp", self.app)

    def compose(self) -> ComposeResult:
        self._fit(self.app.size.height)
        title = f"{self.app.title} — {self.app.sub_title}" if self.app.sub_title else self.app.title
        yield TitleBar(title)
        if self.otp.demo:
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

    def show_sending(self) -> None:
        """A send has started from this screen; say so until the next screen arrives."""

    def on_mount(self) -> None:
        if not self.otp.blink:
            for widget in self.query("Input"):
                cast(Any, widget).cursor_blink = False
