"""An input built for a code of N digits: type, Backspace, or paste `123456`, `123 456`, `123-456`.

Separators are accepted as typed or pasted and dropped at once, so what stays on screen is the
digits alone; the entry announces itself complete when it holds N of them.
"""

from __future__ import annotations

import re

from textual.message import Message
from textual.widgets import Input

from otp_tui.tui.widgets.steady_input import SteadyInput

_NOT_DIGITS = re.compile(r"[^0-9]")


class CodeEntry(SteadyInput):
    class Completed(Message):
        def __init__(self, entry: CodeEntry, digits: str) -> None:
            super().__init__()
            self.entry = entry
            self.digits = digits

    def __init__(self, length: int, *, id: str | None = None) -> None:
        super().__init__(
            placeholder=f"{length} digits",
            # Letters are refused as they are typed; spaces and dashes pass so a paste of
            # "123 456" is not refused whole, and are then dropped.
            restrict=r"[0-9 \-]*",
            id=id,
        )
        self.length = length

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input is not self:
            return
        # Read the value this message carries, not the live one: several keystrokes may land
        # before their messages are handled, and each must be judged once, as it was.
        digits = _NOT_DIGITS.sub("", event.value)[: self.length]
        if digits != event.value:
            if event.value == self.value:
                self.value = digits
                self.cursor_position = len(digits)
            return  # the assignment posts another Changed, which carries on from here
        if len(digits) == self.length and digits == self.value:
            self.post_message(self.Completed(self, digits))

    def clear_entry(self) -> None:
        self.value = ""
