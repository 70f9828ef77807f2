"""The bottom line of every screen: each key that works here and what it does.

It reads the same active bindings Textual's Footer reads, but draws them as text: the Footer
rebuilds a widget per key whenever the bindings change (every screen switch and focus change),
and on the way from Enter to the code screen that rebuild was the largest single cost
(tests/bench/bench.py measures the path). A key that does nothing now is dimmed. Keys are named
one way everywhere, as the screens' sentences name them ("ctrl+r", "esc"), and when they do not
fit on one line the bar takes two rather than dropping one.
"""

from __future__ import annotations

from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from otp_tui.language import _

_NAMES = {"escape": "esc", "enter": "⏎", "f1": "F1"}
# Terminals whose fonts may lack the symbol (the Linux console, VT100s): the name instead.
_PLAIN_NAMES = {**_NAMES, "enter": "enter"}


def key_name(key: str, *, basic_glyphs: bool = False) -> str:
    names = _PLAIN_NAMES if basic_glyphs else _NAMES
    return names.get(key, key)


class KeyBar(Static):
    COMPONENT_CLASSES: ClassVar[set[str]] = {"key-bar--key", "key-bar--description"}

    def __init__(self) -> None:
        super().__init__("", id="key-bar")

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self.show_keys()

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def on_resize(self, event: events.Resize) -> None:
        self.show_keys()

    def _bindings_changed(self, screen: Screen[object]) -> None:
        if self.is_attached and screen is self.screen:
            self.show_keys()

    def entries(self) -> list[tuple[Binding, bool]]:
        """The keys to show, each once, with whether it works now."""
        found: list[tuple[Binding, bool]] = []
        seen: set[str] = set()
        for _node, binding, enabled, _tooltip in self.screen.active_bindings.values():
            # One entry per action, and one per meaning: esc and ctrl+q both "Quit" on the
            # address screen, and the first named is the one shown.
            if not binding.show or binding.action in seen or binding.description in seen:
                continue
            seen.update((binding.action, binding.description))
            found.append((binding, enabled))
        return found

    def show_keys(self) -> None:
        key_style = self.get_component_rich_style("key-bar--key")
        description_style = self.get_component_rich_style("key-bar--description")
        basic = self.app.has_class("-basic-glyphs")
        width = self.size.width or self.app.size.width
        line = Text(no_wrap=True, overflow="ellipsis")
        used = 0
        rows = 1
        for binding, enabled in self.entries():
            key = f" {key_name(binding.key, basic_glyphs=basic)} "
            description = f"{_(binding.description)} "
            if used and used + len(key) + len(description) > width:
                line.append("\n")
                used = 0
                rows += 1
            dim = Style(dim=not enabled)
            line.append(key, key_style + dim)
            line.append(description, description_style + dim)
            used += len(key) + len(description)
        # A popup's bar covers the whole bar of the screen below, whose keys do nothing here;
        # its own keys sit on the bottom line, where a one-line bar has them.
        below = self._rows_below()
        if below > rows:
            line = Text("\n" * (below - rows), no_wrap=True) + line
        self.update(line)

    def _rows_below(self) -> int:
        if not isinstance(self.screen, ModalScreen):
            return 0
        stack = self.app.screen_stack
        index = stack.index(self.screen) if self.screen in stack else len(stack)
        if index == 0:
            return 0
        bars = stack[index - 1].query(KeyBar)
        return max((bar.size.height for bar in bars), default=0)
