"""The demo-mode banner: a new user must always know the mail is not real."""

from __future__ import annotations

from textual.widgets import Static

DEMO_TEXT = "Demo mode: mail stays on this machine (ctrl+o reads it)."


class DemoBanner(Static):
    def __init__(self) -> None:
        super().__init__(DEMO_TEXT, id="demo-banner")
