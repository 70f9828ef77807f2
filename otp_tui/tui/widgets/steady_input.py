"""An Input that stays still: no blinking cursor, and a key repaints the entry alone.

Both matter over a slow link, and for key echo:

- A blinking cursor repaints the entry twice a second for as long as the screen is open (a
  steady cursor is the norm for login prompts anyway).
- Input sets its virtual (scrollable) width to the value's on every key, and a widget's virtual
  size is declared to need a layout, so each key laid out the whole screen before the character
  showed. Scrolling within the entry reads the virtual size directly and needs no layout: here
  a key only repaints the entry, as in a bare Input app (tests/bench/bench.py, key echo).

And the keys act in the order they were typed. Input inserts a character as its key arrives,
but an editing key (backspace, ctrl+u, ctrl+a, the arrows) is a binding, which Textual runs only
once the key has bubbled up to the app; characters read with it in one go were inserted first,
so ctrl+u then "bob" typed fast left an empty field. Here the entry's own bindings run as their
key arrives, in line with the characters around them.
"""

from __future__ import annotations

from typing import Any

from textual import events
from textual.binding import NoBinding
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

    async def _on_key(self, event: events.Key) -> None:
        # Textual calls Input's own `_on_key` after this one unless the default is prevented.
        if not event.is_printable and await self._run_own_binding(event.key):
            event.stop()
            event.prevent_default()

    async def _run_own_binding(self, key: str) -> bool:
        """Run the entry's own (non-priority) binding for `key` now; False when it has none.

        The app would run the same binding, as the focused widget's bindings come first; a
        priority binding (ctrl+q) never gets here, as the app checks those before any widget.
        """
        try:
            bindings = self._bindings.get_bindings_for_key(key)
        except NoBinding:
            return False
        for binding in bindings:
            if not binding.priority and self.check_action(binding.action, ()) is not False:
                await self.run_action(binding.action)
                return True
        return False
