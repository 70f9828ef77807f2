"""The bare Textual floors, for the benchmark to compare otp-tui's terminal output against.

    python tests/bench/bare_textual.py label    # one Label, updated once a second
    python tests/bench/bare_textual.py input    # one Label and one Input: key echo, start-up

Nothing but Textual: no settings, no mail stack. `label` is the floor for idle output and idle
CPU (an app that changes one thing a second), and for the first frame's bytes; `input` is the
floor for key echo and for the time to a first screen. Both draw the same first line as
otp-tui's address screen, so the benchmark detects all of them the same way. The Input's cursor
does not blink, as otp-tui's does not: a blink is bytes on the wire, not part of what is compared.
"""

from __future__ import annotations

import sys
from typing import ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Input, Label

TITLE = "Verify your email address"


class BareLabel(App[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+q", "quit", "Quit")]

    def compose(self) -> ComposeResult:
        yield Label(TITLE, id="label")

    def on_mount(self) -> None:
        self.seconds = 0
        self.set_interval(1.0, self.count)

    def count(self) -> None:
        self.seconds += 1
        self.query_one("#label", Label).update(f"{TITLE} ({self.seconds} s)")


class BareInput(App[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+q", "quit", "Quit")]

    def compose(self) -> ComposeResult:
        yield Label(TITLE)
        entry = Input(placeholder="you@example.com")
        entry.cursor_blink = False
        yield entry


def main() -> None:
    apps: dict[str, type[App[None]]] = {"label": BareLabel, "input": BareInput}
    apps[sys.argv[1]]().run()


if __name__ == "__main__":
    main()
