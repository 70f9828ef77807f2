"""The demo-mode banner: a new user must always know the mail is not real."""

from __future__ import annotations

from textual.widgets import Static

from otp_tui.flow import wording


class DemoBanner(Static):
    def __init__(self) -> None:
        super().__init__(wording.demo_banner(), id="demo-banner")
