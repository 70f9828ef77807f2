"""A one-line title at the top of every screen.

Textual's Header watches the app's title from a callback that can fire after a screen that was
replaced at once (a fast send) is gone; a static line has nothing to go wrong, and the app's
title never changes during a run anyway.
"""

from __future__ import annotations

from textual.widgets import Static


class TitleBar(Static):
    def __init__(self, title: str) -> None:
        super().__init__(title, id="title-bar")
