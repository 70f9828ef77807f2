"""A quiet sign that something is under way: one dot of a row lit, moving on once a second.

Textual's LoadingIndicator redraws at 16 frames a second; over a slow link that alone is more
than a 9600-baud line carries (3.8 KB a second). Here one short row changes once a second,
beside the elapsed seconds that change as often: about 130 bytes a second for the whole screen.
Twice a second read as no livelier and cost twice the wake-ups (tests/bench/bench.py measures
the screen's idle CPU).
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.widgets import Static

STEP_SECONDS = 1.0
DOTS = 5


class ProgressDots(Static):
    COMPONENT_CLASSES: ClassVar[set[str]] = {"progress-dots--lit"}
    DEFAULT_CSS = """
    ProgressDots {
        width: auto;
        height: 1;
        color: $text-muted;
    }
    ProgressDots > .progress-dots--lit {
        color: $accent;
        text-style: bold;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.step = 0

    def on_mount(self) -> None:
        self.update(self.line(), layout=True)
        self.set_interval(STEP_SECONDS, self.advance)

    def advance(self) -> None:
        if not self.display:  # hidden (the send failed): nothing to show
            return
        self.step = (self.step + 1) % DOTS
        self.update(self.line(), layout=False)  # the same width: no layout, one row redrawn

    def line(self) -> Text:
        lit = self.get_component_rich_style("progress-dots--lit")
        line = Text()
        for dot in range(DOTS):
            line.append("●" if dot == self.step else "·", lit if dot == self.step else "")
            if dot < DOTS - 1:
                line.append(" ")
        return line
