"""An input built for a code of N digits: type, Backspace, or paste `123456`, `123 456`, `123-456`,
or a whole sentence that holds the code ("Your code is 123456"): what counts as a code is the
core's `code_in_text`, the same rule the line mode's answers go through.

Separators are accepted as typed and dropped at once, so what stays on screen is the digits
alone; the entry announces itself complete when it holds N of them. Digits read in the same
burst past the N (a fast typist) are kept for the next try. Once the complete code has been
handed over, and until its answer, the entry takes no more typed characters: a guess in
flight is not added to, and a flood of keys costs nothing more than reading them.
"""

from __future__ import annotations

import re

from textual import events
from textual.message import Message
from textual.widgets import Input

from otp_tui.core.codes import code_in_text
from otp_tui.language import ngettext
from otp_tui.tui.widgets.steady_input import SteadyInput

_NOT_DIGITS = re.compile(r"[^0-9]")


class CodeEntry(SteadyInput):
    class Completed(Message):
        def __init__(self, entry: CodeEntry, digits: str) -> None:
            super().__init__()
            self.entry = entry
            self.digits = digits

    class PasteRefused(Message):
        """A paste held no code, or more than one number that could be it."""

    class Edited(Message):
        """The person typed or deleted something (the entry changing by itself does not count).

        `pressed_at` is when the key was read (Textual's monotonic clock), so a key typed before
        an answer appeared is not taken as a reaction to it."""

        def __init__(self, pressed_at: float) -> None:
            super().__init__()
            self.pressed_at = pressed_at

    def __init__(self, length: int, *, id: str | None = None) -> None:
        super().__init__(
            placeholder=ngettext("{count} digit", "{count} digits", length).format(count=length),
            # Letters are refused as they are typed; spaces and dashes pass so that a typed
            # "123 456" is not refused, and are then dropped.
            restrict=r"[0-9 \-]*",
            id=id,
        )
        self.length = length
        self._overflow = ""  # digits typed past a complete code, for the next try
        self._announced: str | None = None  # the complete code last announced, once only

    def check_consume_key(self, key: str, character: str | None) -> bool:
        # "?" is never part of a code: the screen's key for the help may have it.
        return character != "?" and super().check_consume_key(key, character)

    def on_key(self, event: events.Key) -> None:
        if event.is_printable and self.already_announced:
            # Backspace still edits: a code taken back is no longer in flight.
            event.prevent_default()  # Input never sees it
            event.stop()
            return
        if (event.character or "").isdigit() or event.key in ("backspace", "delete"):
            self.post_message(self.Edited(event.time))

    def _on_paste(self, event: events.Paste) -> None:
        # Textual would insert the paste only if every character passes `restrict`, so a
        # sentence around the code would be refused whole, and silently.
        event.stop()
        event.prevent_default()
        code = code_in_text(event.text, self.length)  # the core's rule, as the line mode's
        if code is None:
            self.post_message(self.PasteRefused())
            return
        self.value = code
        self.cursor_position = len(code)

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input is not self:
            return
        # Read the value this message carries, not the live one: several keystrokes may land
        # before their messages are handled, and each must be judged once, as it was.
        all_digits = _NOT_DIGITS.sub("", event.value)
        digits = all_digits[: self.length]
        if digits != event.value:
            if event.value == self.value:
                self._overflow = (self._overflow + all_digits[self.length :])[: self.length]
                self.value = digits
                self.cursor_position = len(digits)
            return  # the assignment posts another Changed, which carries on from here
        if len(digits) < self.length:
            self._announced = None
        elif digits == self.value and digits != self._announced:
            self._announced = digits
            self.post_message(self.Completed(self, digits))

    @property
    def already_announced(self) -> bool:
        """True while the entry holds the complete code it has already handed over."""
        return self._announced is not None and self._announced == self.value

    def clear_entry(self) -> None:
        """Empty the entry for the next try, keeping what was typed past the last code."""
        kept, self._overflow = self._overflow, ""
        self._announced = None
        self.value = kept
        self.cursor_position = len(kept)
