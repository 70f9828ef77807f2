"""Parse the later screens' widget styles while the address is typed.

Textual parses a widget class's stylesheet the first time one is mounted, and that parse was a
large part of drawing the code screen after a send (tests/bench/bench.py measures the path). One
of each kind, hidden and unfocusable, is mounted and removed inside the address screen's body.
"""

from __future__ import annotations

from textual.widget import Widget


async def warm_up_styles(body: Widget) -> None:
    from textual.containers import Horizontal
    from textual.widgets import Button, LoadingIndicator

    from otp_tui.tui.widgets.code_entry import CodeEntry

    parts = [Button(""), LoadingIndicator(), CodeEntry(6)]
    for part in parts:
        part.can_focus = False  # never take focus (or scroll the screen) from the address
    kit = Horizontal(*parts)
    kit.display = False
    await body.mount(kit)
    await kit.remove()
