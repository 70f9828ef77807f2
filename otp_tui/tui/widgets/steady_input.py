"""An Input that stays still: no blinking cursor, and a key repaints the entry alone.

Both matter over a slow link, and for key echo:

- A blinking cursor repaints the entry twice a second for as long as the screen is open (a
  steady cursor is the norm for login prompts anyway).
- Input sets its virtual (scrollable) width to the value's on every key, and a widget's virtual
  size is declared to need a layout, so each key laid out the whole screen before the character
  showed. Scrolling within the entry reads the virtual size directly and needs no layout: here
  a key only repaints the entry, as in a bare Input app (tests/bench/bench.py, key echo).
"""

from __future__ import annotations

from typing import Any

from textual.geometry import Size
from textual.reactive import Reactive
from textual.widgets import Input


class SteadyInput(Input):
    virtual_size = Reactive(Size(0, 0), layout=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Focus coming back (Tab, a popup closing) must not select the text: the next key
        # would replace what was typed.
        kwargs.setdefault("select_on_focus", False)
        super().__init__(*args, **kwargs)
        self.cursor_blink = False
